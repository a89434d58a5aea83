// Builds web/dist from web/src and npm packages (no bundler, no network):
//   npm ci --prefix web && npm run build --prefix web
//
// dist/
//   index.html app.js style.css        our page (copied from src/)
//   vendor/maplibre-gl.mjs, -worker.mjs, .css, LICENSE   MapLibre GL JS from node_modules
//   basemap/land.json countries.json borders.json         GeoJSON converted from npm world-atlas
//   ranges.json                        ICAO address blocks: country and military (ours, from src/overflight/identity)
//   build.json                         package versions the build used
import { createRequire } from "node:module";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const topojson = require("topojson-client");
const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const dist = join(here, "dist");
const repo = join(here, "..");

function pkgDir(name) {
  return dirname(require.resolve(`${name}/package.json`));
}
function version(name) {
  return JSON.parse(readFileSync(join(pkgDir(name), "package.json"), "utf8")).version;
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "vendor"), { recursive: true });
mkdirSync(join(dist, "basemap"), { recursive: true });

// Our own page.
for (const f of readdirSync(src)) copyFileSync(join(src, f), join(dist, f));

// MapLibre GL JS (ES modules: the worker is loaded relative to maplibre-gl.mjs).
const ml = pkgDir("maplibre-gl");
for (const f of ["maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"]) {
  copyFileSync(join(ml, "dist", f), join(dist, "vendor", f));
}
copyFileSync(join(ml, "LICENSE.txt"), join(dist, "vendor", "LICENSE-maplibre-gl.txt"));

// Basemap: Natural Earth via world-atlas TopoJSON, converted once here (no work in the browser).
const wa = pkgDir("world-atlas");
const round = (g) => JSON.stringify(g, (k, v) => (typeof v === "number" ? Math.round(v * 1e4) / 1e4 : v));
const land = JSON.parse(readFileSync(join(wa, "land-50m.json"), "utf8"));
writeFileSync(join(dist, "basemap", "land.json"), round(topojson.feature(land, land.objects.land)));
const countries = JSON.parse(readFileSync(join(wa, "countries-50m.json"), "utf8"));
writeFileSync(join(dist, "basemap", "borders.json"),
  round(topojson.mesh(countries, countries.objects.countries, (a, b) => a !== b)));
const c110 = JSON.parse(readFileSync(join(wa, "countries-110m.json"), "utf8"));
writeFileSync(join(dist, "basemap", "countries.json"), round(topojson.feature(c110, c110.objects.countries)));
copyFileSync(join(wa, "LICENSE"), join(dist, "basemap", "LICENSE-world-atlas.txt"));

// ICAO address blocks: countries from identity/allocations.csv, military blocks from identity/ranges.py
// (the same tables the server uses; tests/server/test_web_map.py checks they did not drift apart).
const ident = join(repo, "src", "overflight", "identity");
const countriesOut = [];
for (const line of readFileSync(join(ident, "allocations.csv"), "utf8").split(/\r?\n/)) {
  if (!line || line.startsWith("#") || line.startsWith("start_hex")) continue;
  const [start, end, name, code] = line.split(",");
  countriesOut.push([parseInt(start, 16), parseInt(end, 16), name, code || ""]);
}
const military = [];
const rangesPy = readFileSync(join(ident, "ranges.py"), "utf8");
for (const m of rangesPy.matchAll(/MilitaryBlock\(0x([0-9A-Fa-f]{6}), 0x([0-9A-Fa-f]{6}), "([^"]*)"\)/g)) {
  military.push([parseInt(m[1], 16), parseInt(m[2], 16), m[3]]);
}
if (countriesOut.length < 100 || military.length < 10) {
  throw new Error(`address tables not read (${countriesOut.length} countries, ${military.length} military blocks)`);
}
writeFileSync(join(dist, "ranges.json"), JSON.stringify({ countries: countriesOut, military }));

writeFileSync(join(dist, "build.json"), JSON.stringify({
  "maplibre-gl": version("maplibre-gl"),
  "world-atlas": version("world-atlas"),
  "topojson-client": version("topojson-client"),
}, null, 1));
console.log(`web map built in ${dist}`);
