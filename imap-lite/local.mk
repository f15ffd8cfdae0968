# The pure parts (parser, MIME) are a library of their own so the unit
# tests link them without the session code.  common/codec.c, pure as
# well, is in it too: its tests link nothing of libcommon.a.
noinst_LIBRARIES += libimapparse.a libimap.a
libimapparse_a_SOURCES = \
	imap-lite/imap_parser.c imap-lite/imap_parser.h \
	imap-lite/imap_parser_int.h \
	imap-lite/imap_arena.c \
	imap-lite/imap_flags.c \
	imap-lite/imap_seqset.c \
	imap-lite/imap_fetch_parse.c \
	imap-lite/imap_search_parse.c \
	imap-lite/imap_utf7.c \
	imap-lite/imap_date.c \
	imap-lite/imap_casefold.c imap-lite/imap_casefold.h \
	imap-lite/imap_mime.c imap-lite/imap_mime.h \
	imap-lite/imap_mime_int.h \
	imap-lite/imap_mime_header.c \
	imap-lite/imap_mime_render.c \
	imap-lite/imap_mime_content.c \
	imap-lite/imap_mime_addr.c \
	imap-lite/imap_mime_serial.c \
	imap-lite/imap_mime_words.c \
	imap-lite/imap_mime_date.c \
	common/codec.c common/codec.h
libimap_a_SOURCES = \
	imap-lite/imap.h \
	imap-lite/imap_session.c imap-lite/imap_session.h \
	imap-lite/imap_response.c imap-lite/imap_response.h \
	imap-lite/imap_cmd_auth.c \
	imap-lite/imap_cmd_mbox.c \
	imap-lite/imap_list.c \
	imap-lite/imap_mailbox.c \
	imap-lite/imap_cmd_append.c \
	imap-lite/imap_cmd_msg.c \
	imap-lite/imap_fetch.c \
	imap-lite/imap_search.c \
	imap-lite/imap_view.c

# Writes the range table in imap_casefold.c from CaseFolding.txt.
EXTRA_DIST += imap-lite/imap_casefold_gen.py
