/**
 * The safe defaults and the `gdpr`, `pci` and `hipaa` presets, as data. A preset only ever makes
 * redaction stricter than the defaults; several presets combine to the strictest of each setting;
 * keys set explicitly in `redaction { … }` override them. docs/redaction.md lists every setting
 * field by field. No preset needs a hash key (none uses `hash`).
 * @module
 */

import type { ClientIpAction, DetectorAction, RedactionPreset } from "../config/types.ts";

/** What a preset sets. */
export interface PresetSettings {
  detectors: Readonly<Record<string, DetectorAction>>;
  sensitiveKeys: readonly string[];
  clientIp?: ClientIpAction;
}

/** Detector actions with no block and no preset: credentials, emails, cards, IBANs, secrets. */
export const DEFAULT_DETECTORS: Readonly<Record<string, DetectorAction>> = {
  email: "mask",
  card: "mask",
  iban: "mask",
  ssn: "off",
  phone: "off",
  jwt: "mask",
  bearer: "mask",
  "aws-key": "mask",
  "gcp-key": "mask",
  "github-token": "mask",
  "slack-token": "mask",
  "stripe-key": "mask",
  "private-key": "mask",
  "url-credentials": "mask",
  ipv4: "off",
  ipv6: "off",
};

/** Request headers kept by default (values still scanned). */
export const DEFAULT_REQUEST_HEADERS: readonly string[] = [
  "accept",
  "accept-encoding",
  "accept-language",
  "cache-control",
  "content-length",
  "content-type",
  "host",
  "origin",
  "referer",
  "sec-ch-ua",
  "sec-ch-ua-mobile",
  "sec-ch-ua-platform",
  "sec-fetch-dest",
  "sec-fetch-mode",
  "sec-fetch-site",
  "user-agent",
  "via",
];

/** Response headers kept by default. */
export const DEFAULT_RESPONSE_HEADERS: readonly string[] = [
  "cache-control",
  "content-encoding",
  "content-length",
  "content-type",
  "server",
  "vary",
];

/** Headers that carry credentials: never emitted in clear, whatever the allowlist says. */
export const CREDENTIAL_HEADERS: readonly string[] = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "x-auth-token",
  "x-access-token",
  "x-csrf-token",
  "x-xsrf-token",
  "x-amz-security-token",
  "x-goog-api-key",
  "x-session-token",
  "www-authenticate",
  "proxy-authenticate",
];

export const PRESETS: Readonly<Record<RedactionPreset, PresetSettings>> = {
  gdpr: {
    detectors: {
      email: "mask",
      phone: "mask",
      iban: "mask",
      card: "mask",
      ipv4: "mask",
      ipv6: "mask",
    },
    sensitiveKeys: [
      "email",
      "mail",
      "phone",
      "mobile",
      "tel",
      "msisdn",
      "name",
      "firstname",
      "lastname",
      "surname",
      "fullname",
      "username",
      "address",
      "street",
      "zip",
      "zipcode",
      "postcode",
      "postalcode",
      "birthdate",
      "dob",
      "birthday",
      "iban",
      "taxid",
      "vat",
      "nationalid",
      "passport",
    ],
    clientIp: "truncate",
  },
  pci: {
    detectors: { card: "mask", bearer: "mask", jwt: "mask" },
    sensitiveKeys: [
      "pan",
      "card",
      "cardnumber",
      "ccnumber",
      "cc",
      "ccnum",
      "cvv",
      "cvc",
      "cvv2",
      "cid",
      "expiry",
      "exp",
      "expdate",
      "expiration",
      "pin",
      "track1",
      "track2",
      "trackdata",
    ],
  },
  hipaa: {
    detectors: { email: "mask", phone: "mask", ssn: "mask", ipv4: "mask", ipv6: "mask" },
    sensitiveKeys: [
      "mrn",
      "patient",
      "patientid",
      "dob",
      "birthdate",
      "ssn",
      "diagnosis",
      "icd",
      "insurance",
      "memberid",
      "healthplan",
      "npi",
      "name",
      "firstname",
      "lastname",
      "surname",
      "fullname",
      "address",
      "street",
      "zip",
      "zipcode",
      "postcode",
      "phone",
      "fax",
      "email",
      "license",
      "deviceid",
      "serialnumber",
    ],
    clientIp: "drop",
  },
}; // deno-fmt-ignore

const DETECTOR_STRICTNESS: readonly DetectorAction[] = ["off", "hash", "mask", "drop"];
const IP_STRICTNESS: readonly ClientIpAction[] = ["keep", "truncate", "hash", "drop"];

/** The stricter of two detector actions. */
export function stricterDetector(a: DetectorAction, b: DetectorAction): DetectorAction {
  return DETECTOR_STRICTNESS.indexOf(a) >= DETECTOR_STRICTNESS.indexOf(b) ? a : b;
}

/** The stricter of two client IP actions. */
export function stricterIp(a: ClientIpAction, b: ClientIpAction): ClientIpAction {
  return IP_STRICTNESS.indexOf(a) >= IP_STRICTNESS.indexOf(b) ? a : b;
}
