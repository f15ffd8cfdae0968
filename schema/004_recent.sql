-- SPDX-License-Identifier: ISC
-- Postroom schema, version 4: \Recent survives a restart.
--
-- RFC 3501 2.3.2: a message is \Recent in the first session to see it
-- after it arrived.  recent_uid is the highest uid some session has
-- already been told about; messages above it are new to the next one to
-- SELECT the mailbox.  Up to version 3 this lived in the daemon's memory
-- only, so mail that came in after a restart, before anyone selected the
-- mailbox, was never announced as recent.  What a mailbox holds at the
-- upgrade counts as seen.

ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;

UPDATE mailboxes SET recent_uid = uidnext - 1 WHERE uidnext > 1;
