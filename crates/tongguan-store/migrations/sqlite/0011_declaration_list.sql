-- The declaration list (issue 9, stored volume): newest first, one page at a time.
-- declarations_created answers the unscoped lists (administrators, officers' queues) in
-- order without sorting the table; created_at only grows, so the writer appends to the
-- index's last page.
-- An enterprise's or broker's list is read by owner (declarations_owner: owner_id,
-- created_at): what they may see is exactly the declarations owned by an enterprise in their
-- scope. Nothing reads by declarant any more, so the writer stops keeping that index.
CREATE INDEX IF NOT EXISTS declarations_created ON declarations(created_at);
DROP INDEX IF EXISTS declarations_declarant;
