-- PostgreSQL only uses a btree index for `LIKE 'prefix%'` under the C collation or with text_pattern_ops.
CREATE INDEX ppsmj_last_name_key_pattern ON ppsmj(last_name_key text_pattern_ops);
CREATE INDEX ppsmj_first_name_key_pattern ON ppsmj(first_name_key text_pattern_ops);
CREATE INDEX ppsmj_phone_key_pattern ON ppsmj(phone_key text_pattern_ops);
CREATE INDEX ppsmj_appi_pattern ON ppsmj(appi_number text_pattern_ops);
