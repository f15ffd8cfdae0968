-- SPDX-License-Identifier: ISC
-- Postroom schema, version 1.
--
-- Message bytes live in message_data, apart from their metadata, so that
-- listings and counts never read a blob page.  A message is stored once
-- however many mailboxes or queue entries refer to it; the triggers at the
-- end delete it (and, by cascade, its bytes) as soon as the last reference
-- goes, whether that reference was removed directly or by a cascade from a
-- deleted user or mailbox.

CREATE TABLE domains (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE		-- lower-case
);

CREATE TABLE users (
	id		INTEGER PRIMARY KEY,
	domain_id	INTEGER NOT NULL REFERENCES domains(id),
	address		TEXT NOT NULL UNIQUE,		-- lower-case local@domain
	password_hash	TEXT NOT NULL,			-- crypt(3) string, "$y$..."
	created_at	INTEGER NOT NULL		-- seconds since the epoch
);
CREATE INDEX users_domain ON users(domain_id);

-- source is "local@domain" or "@domain" (catch-all) in a local domain;
-- target is any address, local or not.
CREATE TABLE aliases (
	id		INTEGER PRIMARY KEY,
	domain_id	INTEGER NOT NULL REFERENCES domains(id),
	source		TEXT NOT NULL,
	target		TEXT NOT NULL,
	UNIQUE (source, target)
);
CREATE INDEX aliases_domain ON aliases(domain_id);

-- uidnext and highestmodseq are the next UID to give and the last modseq
-- given; both only grow.  uidvalidity never repeats within a database.
CREATE TABLE mailboxes (
	id		INTEGER PRIMARY KEY,
	user_id		INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name		TEXT NOT NULL,
	special_use	TEXT,				-- "\Sent" ... or NULL
	uidvalidity	INTEGER NOT NULL,
	uidnext		INTEGER NOT NULL DEFAULT 1,
	highestmodseq	INTEGER NOT NULL DEFAULT 1,
	subscribed	INTEGER NOT NULL DEFAULT 0,
	UNIQUE (user_id, name)
);

-- envelope and bodystructure cache the IMAP FETCH answers; NULL until a
-- client first asks.
CREATE TABLE messages (
	id		INTEGER PRIMARY KEY,
	size		INTEGER NOT NULL,		-- bytes in message_data.data
	received_at	INTEGER NOT NULL,
	sender		TEXT,				-- envelope MAIL FROM
	envelope	TEXT,
	bodystructure	TEXT
);

CREATE TABLE message_data (
	message_id	INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	data		BLOB NOT NULL
);

CREATE TABLE mailbox_messages (
	mailbox_id	INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid		INTEGER NOT NULL,
	message_id	INTEGER NOT NULL REFERENCES messages(id),
	flags		INTEGER NOT NULL DEFAULT 0,	-- MS_FLAG_* bits
	keywords	TEXT,				-- space-separated, or NULL
	internaldate	INTEGER NOT NULL,
	modseq		INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX mailbox_messages_message ON mailbox_messages(message_id);

CREATE TABLE outbound_queue (
	id		INTEGER PRIMARY KEY,
	message_id	INTEGER NOT NULL REFERENCES messages(id),
	sender		TEXT NOT NULL,			-- "" for the null reverse-path
	recipient	TEXT NOT NULL,
	queued_at	INTEGER NOT NULL,
	next_attempt	INTEGER NOT NULL,
	attempts	INTEGER NOT NULL DEFAULT 0,
	last_error	TEXT
);
CREATE INDEX outbound_queue_message ON outbound_queue(message_id);
CREATE INDEX outbound_queue_next ON outbound_queue(next_attempt);

CREATE TRIGGER mailbox_messages_unref AFTER DELETE ON mailbox_messages
WHEN NOT EXISTS (SELECT 1 FROM mailbox_messages WHERE message_id = OLD.message_id)
 AND NOT EXISTS (SELECT 1 FROM outbound_queue WHERE message_id = OLD.message_id)
BEGIN
	DELETE FROM messages WHERE id = OLD.message_id;
END;

CREATE TRIGGER outbound_queue_unref AFTER DELETE ON outbound_queue
WHEN NOT EXISTS (SELECT 1 FROM mailbox_messages WHERE message_id = OLD.message_id)
 AND NOT EXISTS (SELECT 1 FROM outbound_queue WHERE message_id = OLD.message_id)
BEGIN
	DELETE FROM messages WHERE id = OLD.message_id;
END;
