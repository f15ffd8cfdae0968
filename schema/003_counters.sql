-- SPDX-License-Identifier: ISC
-- Postroom schema, version 3: stored mailbox counters.
--
-- Up to version 2 a mailbox's message count, unseen count and size were
-- summed over all its rows on every lookup, so each APPEND, COPY, STATUS
-- or POP3 login cost time in proportion to the size of the mailbox.  The
-- counters now live in the mailbox row and triggers keep them right, so
-- every path that adds, removes or re-flags a row (deliveries, copies,
-- expunges, the cascade of a deleted mailbox or user, the CLI) updates
-- them without any code having to remember to.
--
-- unseen_count counts rows without \Seen (MS_FLAG_SEEN, bit 0); byte_count
-- sums the sizes of the messages the rows refer to, a message present
-- twice counting twice.

ALTER TABLE mailboxes ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN unseen_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN byte_count INTEGER NOT NULL DEFAULT 0;

UPDATE mailboxes SET
	message_count = (SELECT count(*) FROM mailbox_messages mm
	    WHERE mm.mailbox_id = mailboxes.id),
	unseen_count = (SELECT count(*) FROM mailbox_messages mm
	    WHERE mm.mailbox_id = mailboxes.id AND (mm.flags & 1) = 0),
	byte_count = (SELECT coalesce(sum(m.size), 0) FROM mailbox_messages mm
	    JOIN messages m ON m.id = mm.message_id
	    WHERE mm.mailbox_id = mailboxes.id);

CREATE TRIGGER mailbox_messages_count_add AFTER INSERT ON mailbox_messages
BEGIN
	UPDATE mailboxes SET
		message_count = message_count + 1,
		unseen_count = unseen_count + ((NEW.flags & 1) = 0),
		byte_count = byte_count + coalesce((SELECT size FROM messages
		    WHERE id = NEW.message_id), 0)
	WHERE id = NEW.mailbox_id;
END;

-- A row that moves or changes its \Seen bit leaves its old mailbox's
-- counters and enters the new one's (the same mailbox, usually).
CREATE TRIGGER mailbox_messages_count_update
AFTER UPDATE OF mailbox_id, message_id, flags ON mailbox_messages
WHEN OLD.mailbox_id <> NEW.mailbox_id OR OLD.message_id <> NEW.message_id
 OR (OLD.flags & 1) <> (NEW.flags & 1)
BEGIN
	UPDATE mailboxes SET
		message_count = message_count - 1,
		unseen_count = unseen_count - ((OLD.flags & 1) = 0),
		byte_count = byte_count - coalesce((SELECT size FROM messages
		    WHERE id = OLD.message_id), 0)
	WHERE id = OLD.mailbox_id;
	UPDATE mailboxes SET
		message_count = message_count + 1,
		unseen_count = unseen_count + ((NEW.flags & 1) = 0),
		byte_count = byte_count + coalesce((SELECT size FROM messages
		    WHERE id = NEW.message_id), 0)
	WHERE id = NEW.mailbox_id;
END;

-- Removing a row needs the size of its message, which version 1's
-- mailbox_messages_unref may delete along with the row.  SQLite promises
-- no order between two triggers on one event, so one trigger does both,
-- counting first: the statements of a trigger run in order.  When the
-- mailbox itself is being deleted (ON DELETE CASCADE) its row is gone
-- already and the UPDATE matches nothing.
DROP TRIGGER mailbox_messages_unref;
CREATE TRIGGER mailbox_messages_remove AFTER DELETE ON mailbox_messages
BEGIN
	UPDATE mailboxes SET
		message_count = message_count - 1,
		unseen_count = unseen_count - ((OLD.flags & 1) = 0),
		byte_count = byte_count - coalesce((SELECT size FROM messages
		    WHERE id = OLD.message_id), 0)
	WHERE id = OLD.mailbox_id;
	DELETE FROM messages WHERE id = OLD.message_id
	    AND NOT EXISTS (SELECT 1 FROM mailbox_messages
		WHERE message_id = OLD.message_id)
	    AND NOT EXISTS (SELECT 1 FROM outbound_queue
		WHERE message_id = OLD.message_id);
END;
