-- SPDX-License-Identifier: ISC
-- Postroom schema, version 2: what IMAP needs on top of version 1.
--
-- expunged keeps a tombstone for every UID removed from a mailbox, with
-- the modseq of the removal, so that a session can ask which UIDs vanished
-- since a modseq it saw (CONDSTORE, and sessions catching up after the
-- change hook) without comparing the whole UID list.  UIDs are never
-- reused within a mailbox, so (mailbox_id, uid) identifies a tombstone.
-- Tombstones go with their mailbox (and so with their user).

CREATE TABLE expunged (
	mailbox_id	INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid		INTEGER NOT NULL,
	modseq		INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);

-- "What changed since modseq N" reads only the rows that did.
CREATE INDEX mailbox_messages_modseq ON mailbox_messages(mailbox_id, modseq);

-- The parsed MIME structure of a message (ENVELOPE, BODYSTRUCTURE and the
-- part offsets, in imap-lite's own text form), computed once; NULL until
-- first needed.  It supersedes envelope and bodystructure of version 1,
-- which stay unused.
ALTER TABLE messages ADD COLUMN mime_cache TEXT;
