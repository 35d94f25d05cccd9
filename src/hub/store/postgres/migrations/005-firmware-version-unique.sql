-- One image per target and version across hubs (issue 15). Each hub checks "this target version
-- has no other image" against its own copy before storing, so two hubs pushing different images
-- for the same target and version at the same moment could both store theirs, and gateways would
-- be offered whichever a hub found first. Each image now claims its target (case-insensitive, as
-- the hubs compare it) and version in columns with a unique index: the second insert finds the
-- claim taken and the upload is refused with a conflict (409).
--
-- Images already stored keep their bytes; of two for one target and version (that race, already
-- lost), the older upload (uploadedAt, then sha256) holds the claim and the other keeps none.
ALTER TABLE ep_firmware_images ADD COLUMN claim_target text, ADD COLUMN claim_version text;

UPDATE ep_firmware_images AS i SET claim_target = lower(i.entry -> 'manifest' ->> 'target'), claim_version = i.entry -> 'manifest' ->> 'version'
  WHERE i.sha256 = (
    SELECT j.sha256 FROM ep_firmware_images AS j
    WHERE lower(j.entry -> 'manifest' ->> 'target') = lower(i.entry -> 'manifest' ->> 'target')
      AND j.entry -> 'manifest' ->> 'version' = i.entry -> 'manifest' ->> 'version'
    ORDER BY j.entry ->> 'uploadedAt', j.sha256
    LIMIT 1
  );

CREATE UNIQUE INDEX ep_firmware_images_claim ON ep_firmware_images (claim_target, claim_version);
