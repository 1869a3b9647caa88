DROP TABLE policy_revisions;
