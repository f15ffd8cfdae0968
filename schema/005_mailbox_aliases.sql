-- SPDX-License-Identifier: ISC
-- Postroom schema, version 5: mailbox aliases that a client created.
--
-- Clients that ignore SPECIAL-USE (classic Outlook) create their own name
-- for a special folder, "Sent Items" say, subscribe it and then look for
-- it in LIST; if it is not there they keep the folder on the computer.
-- imap-lite maps such names onto the special folder, and a row here
-- records that this user created one, so that it is listed like a
-- mailbox with a subscription of its own.  The row points at the mailbox
-- by id: renaming the mailbox keeps the alias, deleting it (or the user)
-- removes the alias.  An alias is a single level: it has no parent and
-- no children.
--
-- A user's mailbox and alias never share a name.  The triggers refuse
-- whichever comes second with a constraint error, the same answer as a
-- duplicate mailbox name, whatever path the write takes (IMAP CREATE and
-- RENAME, making missing parents, the CLI).

CREATE TABLE mailbox_aliases (
	id		INTEGER PRIMARY KEY,
	user_id		INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name		TEXT NOT NULL,			-- stored form, no '/'
	mailbox_id	INTEGER NOT NULL
			    REFERENCES mailboxes(id) ON DELETE CASCADE,
	subscribed	INTEGER NOT NULL DEFAULT 1,
	UNIQUE (user_id, name)
);
CREATE INDEX mailbox_aliases_mailbox ON mailbox_aliases(mailbox_id);

-- The mailbox must be the same user's, and its name must be free.
CREATE TRIGGER mailbox_aliases_insert BEFORE INSERT ON mailbox_aliases
WHEN NOT EXISTS (SELECT 1 FROM mailboxes
	WHERE id = NEW.mailbox_id AND user_id = NEW.user_id)
 OR EXISTS (SELECT 1 FROM mailboxes
	WHERE user_id = NEW.user_id AND name = NEW.name)
BEGIN
	SELECT RAISE(ABORT, 'alias name taken or mailbox not the user''s');
END;

CREATE TRIGGER mailbox_aliases_update
BEFORE UPDATE OF user_id, name, mailbox_id ON mailbox_aliases
WHEN NOT EXISTS (SELECT 1 FROM mailboxes
	WHERE id = NEW.mailbox_id AND user_id = NEW.user_id)
 OR EXISTS (SELECT 1 FROM mailboxes
	WHERE user_id = NEW.user_id AND name = NEW.name)
BEGIN
	SELECT RAISE(ABORT, 'alias name taken or mailbox not the user''s');
END;

CREATE TRIGGER mailboxes_alias_insert BEFORE INSERT ON mailboxes
WHEN EXISTS (SELECT 1 FROM mailbox_aliases
	WHERE user_id = NEW.user_id AND name = NEW.name)
BEGIN
	SELECT RAISE(ABORT, 'mailbox name is an alias');
END;

CREATE TRIGGER mailboxes_alias_rename BEFORE UPDATE OF name ON mailboxes
WHEN EXISTS (SELECT 1 FROM mailbox_aliases
	WHERE user_id = NEW.user_id AND name = NEW.name)
BEGIN
	SELECT RAISE(ABORT, 'mailbox name is an alias');
END;
