-- Impact of SMS reminders: the local date ('YYYY-MM-DD') an organisation started sending them, which splits its
-- absenteeism into "before" and "after". NULL = the local date of its first appointment whose reminder SMS was
-- actually sent (computed by the statistics query).
ALTER TABLE organisations ADD COLUMN reminders_started_on TEXT
    CHECK (reminders_started_on IS NULL OR (LENGTH(reminders_started_on) = 10 AND reminders_started_on LIKE '____-__-__'));
