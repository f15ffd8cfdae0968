noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = \
	common/log.c common/log.h \
	common/xmalloc.c common/xmalloc.h \
	common/linebuf.c common/linebuf.h \
	common/conn.c common/conn.h \
	common/tls.c common/tls.h \
	common/config.c common/config_addr.c common/config.h \
	common/auth.c common/auth.h common/auth_internal.h \
	common/auth_sasl.c common/auth_b64.c \
	common/auth_exchange.c common/auth_exchange.h \
	common/codec.c common/codec.h \
	common/auth_throttle.c common/auth_throttle.h \
	common/server.h
