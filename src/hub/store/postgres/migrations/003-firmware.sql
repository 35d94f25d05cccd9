-- Firmware images and the keys trusted to sign them, shared by every hub (issue 15): pushed at
-- one hub, flashed or rolled out by whichever hub leads. An image is at most 16 MB (the
-- protocol's limit; the API's 4 MB body limit keeps uploads near 3 MB), well inside bytea's 1 GB.
-- `entry` is the signed manifest and upload time, as the hub's data folder keeps it.
CREATE TABLE ep_firmware_images (
  sha256 text PRIMARY KEY,
  entry json NOT NULL,
  image bytea NOT NULL
);

CREATE TABLE ep_firmware_keys (
  key_id text PRIMARY KEY,
  pem text NOT NULL,
  added_at text NOT NULL
);
