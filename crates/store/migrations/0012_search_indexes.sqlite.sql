CREATE INDEX ppsmj_last_name_key_nocase ON ppsmj(last_name_key COLLATE NOCASE);
CREATE INDEX ppsmj_first_name_key_nocase ON ppsmj(first_name_key COLLATE NOCASE);
CREATE INDEX ppsmj_phone_key_nocase ON ppsmj(phone_key COLLATE NOCASE);
CREATE INDEX ppsmj_appi_nocase ON ppsmj(appi_number COLLATE NOCASE);
CREATE INDEX ppsmj_phone_nocase ON ppsmj(phone COLLATE NOCASE);
