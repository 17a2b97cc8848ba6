-- Fewer indexes for the writer to keep on every submission (issue 9):
-- declarations_bill (bill_no) is the leading column of declarations_bill_port (bill_no,
-- domestic_port, status), which answers every lookup by bill as well; with random bill
-- numbers each of the two touched its own page per declaration of a group commit.
-- declarations_queue (port_customs, status) served no query: the declaration list filters
-- the port with LIKE inside an optional condition, which neither backend answers from it.
DROP INDEX IF EXISTS declarations_bill;
DROP INDEX IF EXISTS declarations_queue;
