# SPDX-License-Identifier: ISC
"""The pieces of loadgen.py, the benchmark client: wire (buffered SMTP/POP3
sockets), message (test messages), procs (a server's processes), and one
module per workload (smtp, pop3, idle)."""
