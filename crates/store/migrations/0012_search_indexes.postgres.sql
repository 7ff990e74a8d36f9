CREATE INDEX ppsmj_phone_pattern ON ppsmj(phone text_pattern_ops);
