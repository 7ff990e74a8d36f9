-- Prefix searches on people's names, phone and APPI number (`LIKE 'dup%'`) use an index on both databases: the
-- PostgreSQL side has had `text_pattern_ops` indexes since 0002 (`*_pattern`); SQLite's LIKE is case-insensitive
-- and only uses an index built with the NOCASE collation (`*_nocase`, in the SQLite part of this step).
SELECT 1;
