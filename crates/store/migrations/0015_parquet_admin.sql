-- Info Parquet administration (issue 10, items 18 and 20): the SIREN of an administration or service, edited by
-- the national admin with its other contact details; the street line of a person's postal address in a referral
-- (its commune is the existing residence_insee, chosen from the communes list).
ALTER TABLE organisations ADD COLUMN siren TEXT;
ALTER TABLE referral_persons ADD COLUMN address TEXT;
