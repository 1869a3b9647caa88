-- Each import attempt owns its claim: only its owner renews it (the import's heartbeat),
-- completes or releases it, so an import whose claim another one took over can no longer
-- touch it. The default gives the claims of imports under way during an upgrade (and those of
-- replicas not yet upgraded, which do not send an owner) an owner no new importer has: they
-- run as before and expire as before.
ALTER TABLE import_claims ADD COLUMN owner uuid NOT NULL DEFAULT gen_random_uuid();
