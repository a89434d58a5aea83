// Overflight web map: the live picture from /data/aircraft.json and the /ws/aircraft push
// (a "full" message, then "diff" messages), drawn with MapLibre GL JS over an offline Natural Earth
// basemap. Nothing here reaches outside this server.
//
// Every string that comes from the air or a file (callsign, registration, operator, type
// description, tags, airport names, alert texts) is untrusted: it is only ever set with
// textContent or setAttribute, never parsed as HTML.
import * as maplibregl from "./vendor/maplibre-gl.mjs";

const STALE_S = 15; // a position older than this is drawn as estimated (faded, dashed outline)
const TRAIL_POINTS = 300; // per aircraft, oldest dropped
const TRAIL_MAX_AGE_MS = 30 * 60 * 1000;
const POLL_MS = 2000; // aircraft.json polling while the WebSocket is down

// ------------------------------------------------------------------ small DOM helpers (text only)
const $ = (id) => document.getElementById(id);

/** An element with attributes (setAttribute) and children (nodes, or strings as text nodes). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null && v !== false) e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function setText(node, text) { node.textContent = text == null ? "" : String(text); }
const str = (v) => (typeof v === "string" ? v : v == null ? "" : String(v));
const fmt = (v, digits = 0) => (typeof v === "number" && Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "—");

// ------------------------------------------------------------------ address tables
let COUNTRIES = []; // [start, end, name, iso2] (most specific block wins)
let MILITARY = []; // [start, end, label]

function countryOf(hex) {
  const a = parseInt(hex, 16);
  if (!Number.isFinite(a) || hex.startsWith("~")) return null;
  let best = null;
  for (const b of COUNTRIES) {
    if (a >= b[0] && a <= b[1] && (best === null || b[1] - b[0] < best[1] - best[0])) best = b;
  }
  return best ? { name: best[2], code: best[3] } : null;
}
function militaryBlockOf(hex) {
  const a = parseInt(hex, 16);
  if (!Number.isFinite(a) || hex.startsWith("~")) return null;
  for (const b of MILITARY) if (a >= b[0] && a <= b[1]) return b[2];
  return null;
}
/** A flag emoji from an ISO 3166-1 alpha-2 code (regional indicator symbols). */
function flagEmoji(code) {
  if (!/^[A-Z]{2}$/.test(code || "")) return "";
  return String.fromCodePoint(...[...code].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65));
}

// ------------------------------------------------------------------ state
const state = {
  aircraft: new Map(), // hex -> entry {rec, seenAt, posAt, trail, country, milBlock}
  nowMs: 0, // the server's data time of the last message
  simulated: false,
  selected: null,
  filters: { mil: false, country: "", type: "", altMin: null, altMax: null, callsign: "" },
  search: "",
  ws: null,
  wsState: "connecting",
  lastMessageAt: 0,
  replay: null, // {kind: "aircraft" | "area", hex | box, tracks: [{hex, points}], t, t0, t1, playing}
  pastIdentity: null, // {hex, r, t} from the history API's flights of the selected aircraft
  focusFlight: null, // flight_id marked in the panel (an alert's or a clicked one)
  alertOpen: null,
  history: { flights: null, track: null, airport: null, alerts: null }, // null unknown, true / false: answered
};

function isMilitary(e) { return ((e.rec.dbFlags | 0) & 1) !== 0 || e.milBlock !== null; }
function isInteresting(e) { return ((e.rec.dbFlags | 0) & 2) !== 0; }
function hasPos(r) { return typeof r.lat === "number" && typeof r.lon === "number"; }
function altitudeOf(r) { return r.alt_baro === "ground" ? 0 : typeof r.alt_baro === "number" ? r.alt_baro : typeof r.alt_geom === "number" ? r.alt_geom : null; }
function callsignOf(r) { return str(r.flight).trim(); }

/** "adsb", "mlat", "tisb", "other" for the current position (readsb's mlat / tisb lists). */
function positionSource(r) {
  if (!hasPos(r)) return "none";
  if (Array.isArray(r.mlat) && r.mlat.includes("lat")) return "mlat";
  if (Array.isArray(r.tisb) && r.tisb.includes("lat")) return "tisb";
  const t = str(r.type);
  if (t.startsWith("adsb") || t.startsWith("adsr") || t === "") return "adsb";
  if (t === "mlat") return "mlat";
  if (t.startsWith("tisb")) return "tisb";
  return "other";
}
function positionAgeS(e) { return e.posAt ? Math.max(0, (state.nowMs - e.posAt) / 1000) : null; }
function drawnSource(e) {
  const src = positionSource(e.rec);
  const age = positionAgeS(e);
  return age !== null && age > STALE_S ? "stale" : src;
}

function upsert(rec, nowMs) {
  if (!rec || typeof rec.hex !== "string") return;
  const hex = rec.hex.toLowerCase();
  let e = state.aircraft.get(hex);
  if (!e) {
    e = { hex, trail: [], country: countryOf(hex), milBlock: militaryBlockOf(hex) };
    state.aircraft.set(hex, e);
  }
  e.rec = rec;
  e.seenAt = nowMs - (typeof rec.seen === "number" ? rec.seen * 1000 : 0);
  if (hasPos(rec)) {
    e.posAt = nowMs - (typeof rec.seen_pos === "number" ? rec.seen_pos * 1000 : 0);
    const last = e.trail[e.trail.length - 1];
    if (!last || last[0] !== rec.lon || last[1] !== rec.lat) {
      e.trail.push([rec.lon, rec.lat, altitudeOf(rec), positionSource(rec), e.posAt]);
      while (e.trail.length > TRAIL_POINTS || (e.trail.length && e.posAt - e.trail[0][4] > TRAIL_MAX_AGE_MS)) e.trail.shift();
    }
  } else {
    e.posAt = null;
  }
}

function applyFull(doc, nowMs) {
  const now = nowMs ?? (typeof doc.now === "number" ? doc.now * 1000 : Date.now());
  state.nowMs = now;
  setSimulated(doc.simulated === true);
  const seen = new Set();
  for (const r of Array.isArray(doc.aircraft) ? doc.aircraft : []) {
    upsert(r, now);
    if (r && typeof r.hex === "string") seen.add(r.hex.toLowerCase());
  }
  for (const hex of [...state.aircraft.keys()]) if (!seen.has(hex)) state.aircraft.delete(hex);
  changed();
}

function applyDiff(msg) {
  state.nowMs = typeof msg.now === "number" ? msg.now : state.nowMs;
  if (msg.simulated === true) setSimulated(true);
  for (const r of Array.isArray(msg.ac) ? msg.ac : []) upsert(r, state.nowMs);
  for (const h of Array.isArray(msg.gone) ? msg.gone : []) state.aircraft.delete(str(h).toLowerCase());
  changed();
}

function setSimulated(on) {
  state.simulated = on;
  $("simulated-banner").hidden = !on;
}

// ------------------------------------------------------------------ feed: aircraft.json, then the WebSocket
async function fetchJson(url) {
  const res = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch {
    // JSON lines (one object a line) are accepted too
    try { body = text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)); } catch { body = null; }
  }
  return { ok: res.ok, status: res.status, body };
}

async function poll() {
  try {
    const r = await fetchJson("data/aircraft.json");
    if (r.ok && r.body) { applyFull(r.body); state.lastMessageAt = Date.now(); }
  } catch { /* the server may be restarting: try again later */ }
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  let ws;
  try { ws = new WebSocket(`${proto}//${location.host}/ws/aircraft`); } catch { scheduleReconnect(); return; }
  state.ws = ws;
  ws.onopen = () => { state.wsState = "live"; updateStatus(); };
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    state.lastMessageAt = Date.now();
    if (msg.type === "full" && msg.data) applyFull(msg.simulated ? { ...msg.data, simulated: true } : msg.data, msg.now);
    else if (msg.type === "diff") applyDiff(msg);
  };
  ws.onclose = () => { state.ws = null; state.wsState = "polling"; updateStatus(); scheduleReconnect(); };
}
let pollTimer = null;
function scheduleReconnect() {
  if (!pollTimer) pollTimer = setInterval(() => { if (!state.ws) poll(); }, POLL_MS);
  setTimeout(() => { if (!state.ws) connect(); }, 5000);
}

// ------------------------------------------------------------------ filters and search
/** A case-insensitive matcher for a wildcard pattern (* any run, ? one character). */
function wildcard(pattern) {
  const p = pattern.trim().toUpperCase();
  if (!p) return null;
  const re = p.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("");
  const rx = new RegExp(`^${re}$`);
  return (s) => rx.test(str(s).trim().toUpperCase());
}

function passes(e) {
  const f = state.filters;
  const r = e.rec;
  if (f.mil && !isMilitary(e)) return false;
  if (f.country && (!e.country || e.country.code !== f.country)) return false;
  if (f.type) {
    const pats = f.type.split(",").map((p) => wildcard(p.includes("*") || p.includes("?") ? p : `${p}*`)).filter(Boolean);
    if (pats.length && !pats.some((m) => m(r.t))) return false;
  }
  const alt = altitudeOf(r);
  if (f.altMin !== null && (alt === null || alt < f.altMin)) return false;
  if (f.altMax !== null && (alt === null || alt > f.altMax)) return false;
  if (f.callsign) {
    const m = wildcard(f.callsign.includes("*") || f.callsign.includes("?") ? f.callsign : `${f.callsign}*`);
    if (m && !m(callsignOf(r))) return false;
  }
  if (state.search) {
    const q = state.search.toUpperCase();
    const hay = [e.hex, callsignOf(r), str(r.r), str(r.t), str(r.squawk), str(r.ownOp)].map((s) => s.toUpperCase());
    if (!hay.some((s) => s.includes(q))) return false;
  }
  return true;
}

function readFilters() {
  const num = (id) => { const v = $(id).value.trim(); const n = Number(v); return v !== "" && Number.isFinite(n) ? n : null; };
  state.filters = {
    mil: $("f-mil").checked,
    country: $("f-country").value,
    type: $("f-type").value.trim(),
    altMin: num("f-alt-min"),
    altMax: num("f-alt-max"),
    callsign: $("f-callsign").value.trim(),
  };
  const n = Object.values(state.filters).filter((v) => v !== null && v !== "" && v !== false).length;
  setText($("filter-count"), n ? `(${n} on)` : "");
  changed();
}

// ------------------------------------------------------------------ the map
const ALT_STOPS = [[0, 30], [2000, 45], [10000, 120], [20000, 190], [30000, 250], [40000, 300]];
/** tar1090-like altitude colour: hue 30 (low) through green and blue to 300 (40,000 ft). */
function altColor(alt, onGround) {
  if (onGround) return "#7a7a7a";
  if (alt === null) return "#a0a0a0";
  let hue = ALT_STOPS[ALT_STOPS.length - 1][1];
  for (let i = 0; i < ALT_STOPS.length - 1; i++) {
    const [a0, h0] = ALT_STOPS[i];
    const [a1, h1] = ALT_STOPS[i + 1];
    if (alt <= a1) { hue = h0 + ((Math.max(alt, a0) - a0) / (a1 - a0)) * (h1 - h0); break; }
  }
  return `hsl(${Math.round(hue)}, 85%, 45%)`;
}
function altBand(r) {
  if (r.alt_baro === "ground") return "g";
  const a = altitudeOf(r);
  return a === null ? "u" : String(Math.max(0, Math.min(22, Math.round(a / 2000))));
}
function bandColor(band) {
  if (band === "g") return altColor(0, true);
  if (band === "u") return altColor(null, false);
  return altColor(Number(band) * 2000, false);
}

/** Icon shape by ADS-B emitter category (and type description as a fallback). */
function shapeOf(r) {
  const c = str(r.category);
  if (c === "A7") return "heli";
  if (c === "A5") return "heavy";
  if (c === "A1" || c === "A2" || c === "B1" || c === "B4") return "light";
  if (c === "B2") return "balloon";
  if (c === "B6") return "uav";
  if (c.startsWith("C")) return "ground";
  if (c === "A3" || c === "A4" || c === "A6") return "jet";
  const d = str(r.desc).toUpperCase();
  if (/HELICOPTER|ROTOR/.test(d)) return "heli";
  if (/^H\d/.test(str(r.t))) return "heli";
  return "unknown";
}
const SHAPES = {
  // paths in a 64x64 box, nose up (north); rotated by the map with the track
  jet: "M32 4 L36 22 L58 36 L58 41 L36 35 L35 50 L43 56 L43 60 L32 57 L21 60 L21 56 L29 50 L28 35 L6 41 L6 36 L28 22 Z",
  heavy: "M32 2 L37 20 L62 36 L62 42 L37 35 L36 50 L45 57 L45 61 L32 58 L19 61 L19 57 L28 50 L27 35 L2 42 L2 36 L27 20 Z",
  light: "M32 8 L35 24 L60 27 L60 32 L35 33 L34 48 L42 52 L42 56 L22 56 L22 52 L30 48 L29 33 L4 32 L4 27 L29 24 Z",
  heli: "M32 10 C38 10 41 16 41 24 C41 32 38 38 34 40 L34 56 L40 58 L40 61 L24 61 L24 58 L30 56 L30 40 C26 38 23 32 23 24 C23 16 26 10 32 10 Z M8 22 L56 26 L56 28 L8 24 Z",
  balloon: "M32 6 C44 6 50 15 50 24 C50 35 38 44 34 48 L34 54 L30 54 L30 48 C26 44 14 35 14 24 C14 15 20 6 32 6 Z",
  uav: "M32 10 L38 26 L58 30 L58 34 L38 34 L36 48 L44 54 L20 54 L28 48 L26 34 L6 34 L6 30 L26 26 Z",
  ground: "M22 12 L42 12 L42 52 L22 52 Z",
  unknown: "M32 6 L52 52 L32 42 L12 52 Z",
};
const SOURCE_STYLE = {
  adsb: { stroke: "#111", width: 2, dash: [], alpha: 1 },
  mlat: { stroke: "#8a2be2", width: 5, dash: [], alpha: 1 },
  tisb: { stroke: "#d17a00", width: 5, dash: [], alpha: 1 },
  other: { stroke: "#111", width: 2, dash: [], alpha: 1 },
  stale: { stroke: "#333", width: 3, dash: [5, 4], alpha: 0.45 },
  replay: { stroke: "#000", width: 3, dash: [], alpha: 1 },
  past: { stroke: "#000", width: 3, dash: [], alpha: 1 }, // an area replay: altitude colours, black outline
};

function makeIcon(shape, band, source) {
  const size = 64;
  const c = document.createElement("canvas");
  c.width = size; c.height = size;
  const g = c.getContext("2d");
  const s = SOURCE_STYLE[source] || SOURCE_STYLE.adsb;
  const p = new Path2D(SHAPES[shape] || SHAPES.unknown);
  g.globalAlpha = s.alpha;
  g.fillStyle = source === "replay" ? "#ff1744" : bandColor(band);
  g.fill(p);
  g.globalAlpha = 1;
  g.lineJoin = "round";
  g.setLineDash(s.dash);
  g.lineWidth = s.width;
  g.strokeStyle = s.stroke;
  g.stroke(p);
  return g.getImageData(0, 0, size, size);
}

let map = null;

/** Add icon ``id`` ("ac-SHAPE-BAND-SOURCE") to the map before a feature names it: an image
 * only made on MapLibre's "styleimagemissing" is drawn from the next data update on. */
function ensureIcon(id) {
  const m = /^ac-(\w+)-(\w+)-(\w+)$/.exec(id);
  if (map && m && !map.hasImage(id)) map.addImage(id, makeIcon(m[1], m[2], m[3]), { pixelRatio: 2 });
  return id;
}
const EMPTY = { type: "FeatureCollection", features: [] };

function buildStyle() {
  return {
    version: 8,
    name: "overflight-offline",
    sources: {
      land: { type: "geojson", data: "basemap/land.json" },
      countries: { type: "geojson", data: "basemap/countries.json" },
      borders: { type: "geojson", data: "basemap/borders.json" },
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": "#a9c7e3" } },
      { id: "land", type: "fill", source: "land", paint: { "fill-color": "#eeeadf" } },
      { id: "countries-hover", type: "fill", source: "countries", paint: { "fill-color": "#eeeadf", "fill-opacity": 0 } },
      { id: "borders", type: "line", source: "borders", paint: { "line-color": "#9d9486", "line-width": 0.8 } },
      { id: "coast", type: "line", source: "land", paint: { "line-color": "#7e9bb5", "line-width": 0.6 } },
    ],
  };
}

function initMap(center, zoom) {
  map = new maplibregl.Map({
    container: "map",
    style: buildStyle(),
    center,
    zoom,
    attributionControl: false,
    renderWorldCopies: true,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: true }), "top-left");
  map.addControl(new maplibregl.ScaleControl({ unit: "nautical" }), "top-right"); // the replay bar covers the bottom
  map.on("styleimagemissing", (ev) => ensureIcon(ev.id));
  map.on("load", () => {
    map.addSource("trails", { type: "geojson", data: EMPTY });
    map.addSource("aircraft", { type: "geojson", data: EMPTY });
    map.addSource("replay-track", { type: "geojson", data: EMPTY });
    map.addSource("replay-ac", { type: "geojson", data: EMPTY });
    map.addSource("replay-area", { type: "geojson", data: EMPTY });
    map.addLayer({ id: "trails-adsb", type: "line", source: "trails", filter: ["!=", ["get", "src"], "mlat"],
      paint: { "line-color": ["get", "color"], "line-width": 2, "line-opacity": 0.8 } });
    map.addLayer({ id: "trails-mlat", type: "line", source: "trails", filter: ["==", ["get", "src"], "mlat"],
      paint: { "line-color": ["get", "color"], "line-width": 2, "line-opacity": 0.8, "line-dasharray": [2, 1.5] } });
    map.addLayer({ id: "selected-ring", type: "circle", source: "aircraft", filter: ["==", ["get", "selected"], true],
      paint: { "circle-radius": 19, "circle-color": "rgba(255,235,59,0.35)", "circle-stroke-color": "#f9a825", "circle-stroke-width": 2 } });
    map.addLayer({ id: "aircraft", type: "symbol", source: "aircraft",
      layout: { "icon-image": ["get", "icon"], "icon-rotate": ["get", "rot"], "icon-rotation-alignment": "map",
        "icon-allow-overlap": true, "icon-ignore-placement": true, "icon-size": ["get", "size"] },
      paint: { "icon-opacity": ["case", ["get", "dim"], 0.35, 1] } });
    map.addLayer({ id: "replay-area", type: "line", source: "replay-area",
      paint: { "line-color": "#6a1b9a", "line-width": 2, "line-dasharray": [3, 2] } });
    map.addLayer({ id: "replay-track", type: "line", source: "replay-track",
      paint: { "line-color": "#ff1744", "line-width": 3, "line-opacity": 0.85 } });
    map.addLayer({ id: "replay-ac", type: "symbol", source: "replay-ac",
      layout: { "icon-image": ["get", "icon"], "icon-rotate": ["get", "rot"], "icon-rotation-alignment": "map",
        "icon-allow-overlap": true, "icon-ignore-placement": true, "icon-size": 1.1 } });
    map.on("click", "aircraft", (ev) => { const f = ev.features && ev.features[0]; if (f) select(f.properties.hex, false); });
    map.on("click", "replay-ac", (ev) => { const f = ev.features && ev.features[0]; if (f && state.replay && state.replay.kind === "area") select(f.properties.hex, false); });
    map.on("mouseenter", "aircraft", () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", "aircraft", () => { map.getCanvas().style.cursor = ""; });
    window.overflight.mapReady = true;
    changed();
  });
}

function aircraftFeatures(visible) {
  const feats = [];
  for (const e of visible) {
    const r = e.rec;
    if (!hasPos(r)) continue;
    const src = drawnSource(e);
    const shape = shapeOf(r);
    const size = shape === "heavy" ? 0.95 : shape === "light" || shape === "heli" ? 0.7 : 0.8;
    feats.push({
      type: "Feature",
      geometry: { type: "Point", coordinates: [r.lon, r.lat] },
      properties: {
        hex: e.hex, icon: ensureIcon(`ac-${shape}-${altBand(r)}-${src}`), src,
        rot: typeof r.track === "number" ? r.track : 0, size: e.hex === state.selected ? size * 1.25 : size,
        selected: e.hex === state.selected, dim: replayLoaded(),
      },
    });
  }
  return { type: "FeatureCollection", features: feats };
}

function trailFeatures(visible) {
  const feats = [];
  for (const e of visible) {
    const t = e.trail;
    for (let i = 1; i < t.length; i++) {
      const [lon0, lat0] = t[i - 1];
      const [lon1, lat1, alt, src] = t[i];
      if (Math.abs(lon1 - lon0) > 180) continue;
      feats.push({ type: "Feature", geometry: { type: "LineString", coordinates: [[lon0, lat0], [lon1, lat1]] },
        properties: { color: altColor(alt, alt === 0 && e.rec.alt_baro === "ground"), src } });
    }
  }
  return { type: "FeatureCollection", features: feats };
}

// ------------------------------------------------------------------ rendering
let pending = false;
function changed() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
}

function visibleAircraft() {
  const out = [];
  for (const e of state.aircraft.values()) if (passes(e)) out.push(e);
  out.sort((a, b) => (callsignOf(a.rec) || "~" + a.hex).localeCompare(callsignOf(b.rec) || "~" + b.hex));
  return out;
}

function render() {
  const visible = visibleAircraft();
  window.overflight.visible = visible.map((e) => e.hex);
  if (map && window.overflight.mapReady) {
    map.getSource("aircraft").setData(aircraftFeatures(visible));
    map.getSource("trails").setData(trailFeatures(visible));
  }
  renderList(visible);
  renderCountries();
  renderPanel();
  updateStatus();
  maybeFitOnce(visible);
}

function renderList(visible) {
  const body = $("list").tBodies[0];
  clear(body);
  for (const e of visible.slice(0, 500)) {
    const r = e.rec;
    const tr = el("tr", { "data-hex": e.hex, class: [e.hex === state.selected ? "selected" : "", isMilitary(e) ? "mil" : ""].join(" ").trim() || null },
      el("td", { title: e.country ? e.country.name : "" }, e.country && e.country.code ? `${flagEmoji(e.country.code)} ${e.country.code}` : ""),
      el("td", {}, callsignOf(r)),
      el("td", { class: "mono" }, e.hex.toUpperCase()),
      el("td", {}, str(r.r)),
      el("td", {}, str(r.t)),
      el("td", {}, r.alt_baro === "ground" ? "ground" : fmt(altitudeOf(r))),
      el("td", {}, fmt(r.gs)));
    tr.addEventListener("click", () => select(e.hex, true));
    body.appendChild(tr);
  }
  setText($("list-count"), `(${visible.length} of ${state.aircraft.size}${visible.length > 500 ? ", first 500 listed" : ""})`);
}

let knownCountries = "";
function renderCountries() {
  const codes = new Map();
  for (const e of state.aircraft.values()) if (e.country && e.country.code) codes.set(e.country.code, e.country.name);
  if (state.filters.country) codes.set(state.filters.country, codes.get(state.filters.country) || state.filters.country);
  const key = [...codes.keys()].sort().join(",");
  if (key === knownCountries) return;
  knownCountries = key;
  const sel = $("f-country");
  const cur = sel.value;
  clear(sel);
  sel.appendChild(el("option", { value: "" }, "any"));
  for (const [code, name] of [...codes.entries()].sort((a, b) => a[1].localeCompare(b[1]))) {
    sel.appendChild(el("option", { value: code }, `${flagEmoji(code)} ${name}`));
  }
  sel.value = cur;
}

function updateStatus() {
  const n = state.aircraft.size;
  const withPos = [...state.aircraft.values()].filter((e) => hasPos(e.rec)).length;
  const conn = state.wsState === "live" ? "live" : state.wsState === "polling" ? "polling (WebSocket down)" : "connecting…";
  const t = state.nowMs ? new Date(state.nowMs).toISOString().slice(11, 19) + " UTC" : "";
  setText($("status"), `${n} aircraft, ${withPos} with positions · ${conn} · ${t}`);
}

let fitted = false;
function maybeFitOnce(visible) {
  if (fitted || !map || !window.overflight.mapReady || window.overflight.fixedView) return;
  const pts = visible.filter((e) => hasPos(e.rec)).map((e) => [e.rec.lon, e.rec.lat]);
  if (!pts.length) return;
  fitted = true;
  if (state.selected) return;
  const b = new maplibregl.LngLatBounds(pts[0], pts[0]);
  for (const p of pts) b.extend(p);
  map.fitBounds(b, { padding: 80, maxZoom: 6, duration: 0 });
}

// ------------------------------------------------------------------ the selected aircraft
function select(hex, fly) {
  const was = state.selected;
  state.selected = hex ? hex.toLowerCase() : null;
  if (state.selected !== was) state.focusFlight = null;
  const e = state.selected ? state.aircraft.get(state.selected) : null;
  if (fly && e && hasPos(e.rec) && map) map.easeTo({ center: [e.rec.lon, e.rec.lat], duration: 0 });
  const u = new URL(location.href);
  if (state.selected) u.searchParams.set("icao", state.selected); else u.searchParams.delete("icao");
  u.searchParams.delete("reg");
  history.replaceState(null, "", u);
  flightsFor = null;
  changed();
}

function field(dl, name, value, cls) {
  dl.appendChild(el("dt", {}, name));
  dl.appendChild(el("dd", cls ? { class: cls } : {}, value === "" || value == null ? "—" : value));
}

const SOURCE_NAME = { adsb: "ADS-B", mlat: "MLAT", tisb: "TIS-B", other: "other", none: "no position", stale: "estimated" };

function renderPanel() {
  const panel = $("panel");
  const e = state.selected ? state.aircraft.get(state.selected) : null;
  if (!state.selected) { panel.hidden = true; return; }
  panel.hidden = false;
  const hex = state.selected;
  const past = !e && state.pastIdentity && state.pastIdentity.hex === hex ? state.pastIdentity : null;
  const r = e ? e.rec : past ? { r: past.r, t: past.t, flight: past.flight } : {};
  const country = e ? e.country : countryOf(hex);
  setText($("p-flag"), country ? flagEmoji(country.code) : "");
  $("p-flag").setAttribute("title", country ? country.name : "");
  setText($("p-title"), [str(r.r) || hex.toUpperCase(), callsignOf(r)].filter(Boolean).join(" · "));
  const badges = $("p-badges");
  clear(badges);
  if (!e) badges.appendChild(el("span", { class: "badge src-stale" }, "not in the live picture"));
  if (e && isMilitary(e)) badges.appendChild(el("span", { class: "badge mil", title: e.milBlock || "registry" }, "MILITARY"));
  if (e && isInteresting(e)) badges.appendChild(el("span", { class: "badge watch" }, "WATCHLIST"));
  if ((r.dbFlags | 0) & 4) badges.appendChild(el("span", { class: "badge src-stale" }, "PIA"));
  if ((r.dbFlags | 0) & 8) badges.appendChild(el("span", { class: "badge src-stale" }, "LADD"));
  if (["7500", "7600", "7700"].includes(str(r.squawk)) || (r.emergency && r.emergency !== "none")) {
    badges.appendChild(el("span", { class: "badge emerg" }, `EMERGENCY ${str(r.emergency && r.emergency !== "none" ? r.emergency : r.squawk)}`));
  }
  if (e) {
    const src = drawnSource(e);
    badges.appendChild(el("span", { class: `badge src-${src === "stale" ? "stale" : src}` }, SOURCE_NAME[src] || src));
  }
  const dl = $("p-fields");
  clear(dl);
  field(dl, "Address", hex.toUpperCase(), "mono");
  field(dl, "Registration", str(r.r));
  field(dl, "Callsign", callsignOf(r));
  field(dl, "Type", [str(r.t), str(r.desc)].filter(Boolean).join(" — "));
  field(dl, "Operator", str(r.ownOp));
  field(dl, "Country", country ? `${flagEmoji(country.code)} ${country.name}${country.code ? ` (${country.code})` : ""}` : "");
  field(dl, "Category", str(r.category));
  field(dl, "Altitude", r.alt_baro === "ground" ? "on the ground" : typeof r.alt_baro === "number" ? `${fmt(r.alt_baro)} ft baro` + (typeof r.alt_geom === "number" ? `, ${fmt(r.alt_geom)} ft GNSS` : "") : typeof r.alt_geom === "number" ? `${fmt(r.alt_geom)} ft GNSS` : "");
  field(dl, "Vertical rate", typeof r.baro_rate === "number" ? `${fmt(r.baro_rate)} ft/min` : typeof r.geom_rate === "number" ? `${fmt(r.geom_rate)} ft/min` : "");
  field(dl, "Speed", typeof r.gs === "number" ? `${fmt(r.gs)} kt ground` : "");
  field(dl, "Track", typeof r.track === "number" ? `${fmt(r.track)}°` : "");
  field(dl, "Squawk", str(r.squawk));
  let srcText = "";
  if (e) {
    const src = positionSource(r);
    srcText = SOURCE_NAME[src] || src;
    if (src === "mlat" && typeof r.mlat_error_m === "number") srcText += ` (±${fmt(r.mlat_error_m)} m)`;
    const age = positionAgeS(e);
    if (age !== null && age > STALE_S) srcText += ` — last fix ${fmt(age)} s ago, drawn as estimated`;
  }
  field(dl, "Position source", srcText);
  field(dl, "Position", hasPos(r) ? `${r.lat.toFixed(4)}, ${r.lon.toFixed(4)}` : "");
  field(dl, "Receivers", typeof r.receivers === "number" ? String(r.receivers) : Array.isArray(r.receivers) ? String(r.receivers.length) : "");
  field(dl, "Messages", typeof r.messages === "number" ? fmt(r.messages) : "");
  field(dl, "Signal", typeof r.rssi === "number" ? `${fmt(r.rssi, 1)} dBFS` : "");
  field(dl, "Last seen", e ? `${fmt(Math.max(0, (state.nowMs - e.seenAt) / 1000), 1)} s ago` : "");
  loadFlights(hex);
}

// Recent flights from the history API (absent: said so, nothing breaks).
let flightsFor = null;
async function loadFlights(hex) {
  if (flightsFor === hex) return;
  flightsFor = hex;
  const box = $("p-flights");
  clear(box);
  box.appendChild(document.createTextNode("loading…"));
  let r;
  try { r = await fetchJson(`api/history/flights/${encodeURIComponent(hex)}`); } catch { r = { ok: false, status: 0 }; }
  if (flightsFor !== hex) return;
  clear(box);
  if (!r.ok) {
    state.history.flights = r.status === 404 ? false : state.history.flights;
    setText(box, r.status === 404 ? "no flight history on this server" : `flight history unavailable (${r.status || "network"})`);
    return;
  }
  state.history.flights = true;
  const rows = listOf(r.body, ["flights", "data", "rows"]);
  // an aircraft out of the live picture: its registration and type from its stored flights
  const known = [...rows].reverse().find((f) => str(f.registration) || str(f.typecode));
  const cs = known && Array.isArray(known.callsigns) ? known.callsigns.map(str) : [];
  state.pastIdentity = known ? { hex, r: str(known.registration), t: str(known.typecode), flight: cs[cs.length - 1] || "" } : null;
  if (known && !state.aircraft.get(hex)) changed();
  if (!rows.length) { setText(box, "no recorded flights"); return; }
  const t = el("table", { class: "board-table" },
    el("thead", {}, el("tr", {}, el("th", {}, "Callsign"), el("th", {}, "From"), el("th", {}, "To"), el("th", {}, "Departed"), el("th", {}, "Arrived"))));
  const tb = el("tbody");
  for (const f of rows.slice(-10).reverse()) {
    const tr = el("tr", { "data-flight-id": str(f.flight_id) || null, title: "Replay this flight" },
      el("td", {}, Array.isArray(f.callsigns) ? f.callsigns.map(str).join(" ") : str(f.callsign)),
      el("td", { title: str(f.departure_airport_name) }, str(f.departure_airport) || "?"),
      el("td", { title: str(f.arrival_airport_name) }, str(f.arrival_airport) || "?"),
      el("td", {}, shortTime(f.departure_time ?? f.first_seen ?? f.departure_time_s ?? f.first_seen_s)),
      el("td", {}, shortTime(f.arrival_time ?? f.last_seen ?? f.arrival_time_s ?? f.last_seen_s)));
    const first = toMs(f.first_seen ?? f.first_seen_s ?? f.departure_time);
    const last = toMs(f.last_seen ?? f.last_seen_s ?? f.arrival_time);
    if (first !== null && last !== null) {
      tr.style.cursor = "pointer";
      tr.addEventListener("click", () => {
        state.focusFlight = str(f.flight_id);
        markFocusFlight();
        openReplay(hex);
        $("r-from").value = isoInput(first - 1000);
        $("r-to").value = isoInput(last + 1000);
        loadReplay();
      });
    }
    tb.appendChild(tr);
  }
  t.appendChild(tb);
  box.appendChild(t);
  markFocusFlight();
}

function listOf(body, keys) {
  if (Array.isArray(body)) return body.filter((x) => x && typeof x === "object");
  if (body && typeof body === "object") for (const k of keys) if (Array.isArray(body[k])) return body[k].filter((x) => x && typeof x === "object");
  return [];
}
/** Epoch seconds or ms, or ISO text -> "YYYY-MM-DD HH:MM UTC"; "" when not a time. */
function toMs(v) {
  if (typeof v === "number" && Number.isFinite(v)) return v > 1e11 ? v : v * 1000;
  if (typeof v === "string" && v) { const t = Date.parse(v); return Number.isFinite(t) ? t : null; }
  return null;
}
function shortTime(v) {
  const t = toMs(v);
  return t === null ? "" : new Date(t).toISOString().slice(0, 16).replace("T", " ");
}

// ------------------------------------------------------------------ history replay
// One aircraft (its track from /api/history/track) or an area: the aircraft /api/history/area
// says were in the box during the window, each with its own track request (at most
// AREA_MAX_AIRCRAFT of them, AREA_PARALLEL at a time: the history API has no endpoint that
// answers every position of an area at once). The slider moves every replayed aircraft together.
const AREA_MAX_AIRCRAFT = 50;
const AREA_PARALLEL = 4;

function isoInput(ms) { return new Date(ms).toISOString().slice(0, 19); }
function replayLoaded() { return state.replay !== null && state.replay.tracks.length > 0; }

function showReplayBar(who) {
  $("replay").hidden = false;
  setText($("r-who"), who);
  $("r-slider").disabled = true;
  $("r-play").disabled = true;
  setText($("r-play"), "Play");
  setText($("r-time"), "");
  const end = state.nowMs || Date.now();
  if (!$("r-from").value) $("r-from").value = isoInput(end - 3600 * 1000);
  if (!$("r-to").value) $("r-to").value = isoInput(end + 60 * 1000);
}

function clearReplayLayers() {
  if (!map || !window.overflight.mapReady) return;
  map.getSource("replay-track").setData(EMPTY);
  map.getSource("replay-ac").setData(EMPTY);
  map.getSource("replay-area").setData(EMPTY);
}

function openReplay(hex) {
  if (state.replay) state.replay.playing = false;
  const e = state.aircraft.get(hex);
  state.replay = { kind: "aircraft", hex, tracks: [], t: 0, playing: false };
  window.overflight.replayPosition = null;
  window.overflight.replayPositions = {};
  clearReplayLayers();
  $("r-area-view").hidden = true;
  showReplayBar([hex.toUpperCase(), e ? str(e.rec.r) : "", e ? callsignOf(e.rec) : ""].filter(Boolean).join(" "));
  setText($("r-msg"), "Times are UTC. Load the aircraft's track, then move the slider or press Play.");
  changed();
}

/** The map's view as S,W,N,E for the area endpoint (longitudes wrapped into -180..180; a view
 * wider than the world is the whole world). */
function viewBox() {
  const b = map.getBounds();
  const s = Math.max(-90, b.getSouth());
  const n = Math.min(90, b.getNorth());
  let w = b.getWest();
  let e = b.getEast();
  if (e - w >= 360) { w = -180; e = 180; } else {
    const wrap = (x) => ((((x + 180) % 360) + 360) % 360) - 180;
    w = wrap(w); e = wrap(e);
    if (e === -180) e = 180;
  }
  const r = (x) => Math.round(x * 1e4) / 1e4;
  return { s: r(s), w: r(w), n: r(n), e: r(e) };
}
function boxText(b) { return `${b.s},${b.w},${b.n},${b.e}`; }

function drawArea(b) {
  if (!map || !window.overflight.mapReady) return;
  const east = b.e > b.w ? b.e : b.e + 360; // across the antimeridian
  map.getSource("replay-area").setData({ type: "Feature", properties: {}, geometry: { type: "LineString",
    coordinates: [[b.w, b.s], [east, b.s], [east, b.n], [b.w, b.n], [b.w, b.s]] } });
}

function openAreaReplay() {
  if (!map) return;
  if (state.replay) state.replay.playing = false;
  const box = viewBox();
  state.replay = { kind: "area", box, tracks: [], t: 0, playing: false };
  window.overflight.replayPosition = null;
  window.overflight.replayPositions = {};
  clearReplayLayers();
  drawArea(box);
  $("r-area-view").hidden = false;
  showReplayBar(`area S,W,N,E ${boxText(box)}`);
  setText($("r-msg"), "Times are UTC. The area is the map's view (outlined); Load the aircraft seen in it, then move the slider or press Play.");
  changed();
}

/** Take the map's current view as the area again (before Load). */
function areaFromView() {
  const rp = state.replay;
  if (!rp || rp.kind !== "area") return;
  rp.box = viewBox();
  drawArea(rp.box);
  setText($("r-who"), `area S,W,N,E ${boxText(rp.box)}`);
}

function closeReplay() {
  if (state.replay) state.replay.playing = false;
  state.replay = null;
  $("replay").hidden = true;
  window.overflight.replayPosition = null;
  window.overflight.replayPositions = {};
  clearReplayLayers();
  changed();
}

/** Positions from whatever the track endpoint answers: rows of the positions table, JSON lines,
 * GeoJSON (LineString with properties.times) or a readsb trace_full document. */
function trackPoints(body) {
  const pts = [];
  const push = (t, lat, lon, alt, src) => {
    const ms = toMs(t);
    if (ms !== null && typeof lat === "number" && typeof lon === "number" && Number.isFinite(lat) && Number.isFinite(lon)) {
      pts.push({ t: ms, lat, lon, alt: typeof alt === "number" ? alt : null, src: str(src) || "adsb" });
    }
  };
  if (body && Array.isArray(body.trace) && typeof body.timestamp === "number") {
    for (const p of body.trace) push(body.timestamp + p[0], p[1], p[2], p[3] === "ground" ? 0 : p[3], (p[6] & 1) ? "stale" : "adsb");
  } else if (body && body.type === "FeatureCollection") {
    for (const f of body.features || []) {
      const times = (f.properties && f.properties.times) || [];
      const g = f.geometry || {};
      const coords = g.type === "LineString" ? g.coordinates : g.type === "Point" ? [g.coordinates] : [];
      coords.forEach((c, i) => push(times[i], c[1], c[0], typeof c[2] === "number" ? c[2] / 0.3048 : null, "adsb"));
    }
  } else {
    for (const p of listOf(body, ["positions", "track", "points", "data", "rows"])) {
      push(p.time_s ?? p.time ?? p.t ?? p.timestamp, p.lat_deg ?? p.lat ?? p.latitude, p.lon_deg ?? p.lon ?? p.longitude,
        p.altitude_ft ?? p.alt_baro ?? p.altitude, p.source ?? p.src);
    }
  }
  pts.sort((a, b) => a.t - b.t);
  return pts;
}

function apiError(r, what) {
  const why = r.body && typeof r.body === "object" && !Array.isArray(r.body) ? str(r.body.detail ?? r.body.error ?? r.body.msg) : "";
  return r.status === 404 && !why ? "history replay is not available on this server" : `${what}: ${why || "HTTP " + (r.status || "error")}`;
}

async function getJson(url) {
  try { return await fetchJson(url); } catch { return { ok: false, status: 0, body: null }; }
}

function replayWindow() {
  const from = Date.parse($("r-from").value + "Z");
  const to = Date.parse($("r-to").value + "Z");
  if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) return null;
  return `from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}`;
}

async function loadReplay() {
  const rp = state.replay;
  if (!rp) return;
  const q = replayWindow();
  if (q === null) { setText($("r-msg"), "Give a time window with 'to' after 'from'."); return; }
  rp.playing = false;
  rp.tracks = [];
  setText($("r-msg"), "loading…");
  if (rp.kind === "area") { await loadArea(rp, q); return; }
  const r = await getJson(`api/history/track/${encodeURIComponent(rp.hex)}?${q}&format=json`);
  if (state.replay !== rp) return;
  if (!r.ok) { setText($("r-msg"), apiError(r, "no track")); return; }
  const points = trackPoints(r.body);
  if (!points.length) { setText($("r-msg"), "no positions in that window"); return; }
  rp.tracks = [{ hex: rp.hex, points }];
  startReplay(rp, `${points.length} positions, ${shortTime(points[0].t)} – ${shortTime(points[points.length - 1].t)} UTC`);
  const b = new maplibregl.LngLatBounds([points[0].lon, points[0].lat], [points[0].lon, points[0].lat]);
  for (const p of points) b.extend([p.lon, p.lat]);
  if (map) map.fitBounds(b, { padding: { top: 60, left: 60, right: 60, bottom: $("replay").offsetHeight + 40 }, maxZoom: 10, duration: 0 }); // clear of the replay bar
}

async function loadArea(rp, q) {
  const r = await getJson(`api/history/area?bbox=${encodeURIComponent(boxText(rp.box))}&${q}`);
  if (state.replay !== rp) return;
  if (!r.ok) { setText($("r-msg"), apiError(r, "no area")); return; }
  const seen = listOf(r.body, ["aircraft", "data", "rows"])
    .map((a) => ({ hex: str(a.icao24 ?? a.hex).toLowerCase(), callsigns: Array.isArray(a.callsigns) ? a.callsigns.map(str) : [], positions: Number(a.positions) || 0 }))
    .filter((a) => /^~?[0-9a-f]{6}$/.test(a.hex));
  if (!seen.length) { setText($("r-msg"), "no aircraft in that area and window"); return; }
  // the cap keeps the aircraft with the most stored positions there
  const chosen = seen.length > AREA_MAX_AIRCRAFT ? [...seen].sort((a, b) => b.positions - a.positions).slice(0, AREA_MAX_AIRCRAFT) : seen;
  const tracks = [];
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < chosen.length && state.replay === rp) {
      const a = chosen[next++];
      const t = await getJson(`api/history/track/${encodeURIComponent(a.hex)}?${q}&format=json`);
      const points = t.ok ? trackPoints(t.body) : [];
      if (!t.ok) failed++;
      if (points.length) tracks.push({ hex: a.hex, callsign: a.callsigns[0] || "", points });
      setText($("r-msg"), `loading tracks… ${tracks.length + failed} of ${chosen.length}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(AREA_PARALLEL, chosen.length) }, worker));
  if (state.replay !== rp) return;
  if (!tracks.length) { setText($("r-msg"), failed ? `no tracks (${failed} requests failed)` : "no positions in that window"); return; }
  tracks.sort((a, b) => a.points[0].t - b.points[0].t || a.hex.localeCompare(b.hex));
  rp.tracks = tracks;
  const n = tracks.reduce((s, x) => s + x.points.length, 0);
  let msg = `${tracks.length} aircraft, ${n} positions`;
  if (seen.length > chosen.length) msg += ` (${seen.length} aircraft in the area: the ${chosen.length} with the most positions replayed)`;
  if (failed) msg += `, ${failed} track requests failed`;
  startReplay(rp, `${msg}: ${tracks.map((x) => [x.hex.toUpperCase(), x.callsign].filter(Boolean).join(" ")).join(", ")}`);
}

/** Set the slider over every loaded track's time span and show the first instant. */
function startReplay(rp, msg) {
  rp.t0 = Math.min(...rp.tracks.map((x) => x.points[0].t));
  rp.t1 = Math.max(...rp.tracks.map((x) => x.points[x.points.length - 1].t));
  const s = $("r-slider");
  s.disabled = false;
  $("r-play").disabled = false;
  s.min = String(rp.t0);
  s.max = String(rp.t1);
  s.step = "1000";
  s.value = s.min;
  setText($("r-msg"), msg);
  replayAt(rp.t0);
  changed();
}

function bearing(a, b) {
  const r = Math.PI / 180;
  const y = Math.sin((b.lon - a.lon) * r) * Math.cos(b.lat * r);
  const x = Math.cos(a.lat * r) * Math.sin(b.lat * r) - Math.sin(a.lat * r) * Math.cos(b.lat * r) * Math.cos((b.lon - a.lon) * r);
  return (Math.atan2(y, x) / r + 360) % 360;
}

/** Where a track was at ``t`` (ms), interpolated between its positions; null outside its span
 * (an area's aircraft appear and leave as they did). */
function trackAt(pts, t, clamp) {
  if (!pts.length || (!clamp && (t < pts[0].t || t > pts[pts.length - 1].t))) return null;
  let lo = 0;
  let hi = pts.length - 1;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (pts[mid].t <= t) lo = mid; else hi = mid - 1; }
  const i = lo;
  const a = pts[i];
  const b = pts[Math.min(i + 1, pts.length - 1)];
  const f = b.t > a.t ? Math.min(1, Math.max(0, (t - a.t) / (b.t - a.t))) : 0;
  const rot = i + 1 < pts.length ? bearing(a, b) : i > 0 ? bearing(pts[i - 1], a) : 0;
  return { i, lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f, alt: a.alt, src: a.src, rot };
}

/** Put every replayed aircraft where it was at ``t`` (ms). */
function replayAt(t) {
  const rp = state.replay;
  if (!rp || !rp.tracks.length) return;
  rp.t = t;
  const single = rp.kind === "aircraft";
  const acs = [];
  const lines = [];
  const where = {};
  let shown = null;
  for (const tr of rp.tracks) {
    const pos = trackAt(tr.points, t, single);
    where[tr.hex] = pos ? [pos.lon, pos.lat] : null;
    if (!pos) continue;
    if (!shown) shown = pos;
    const e = state.aircraft.get(tr.hex);
    const shape = e ? shapeOf(e.rec) : single ? "unknown" : "jet";
    const band = pos.alt === null ? "u" : String(Math.max(0, Math.min(22, Math.round(pos.alt / 2000))));
    acs.push({ type: "Feature", geometry: { type: "Point", coordinates: [pos.lon, pos.lat] },
      properties: { hex: tr.hex, icon: ensureIcon(single ? `ac-${shape}-0-replay` : `ac-${shape}-${band}-past`), rot: pos.rot } });
    const coords = tr.points.slice(0, pos.i + 1).map((p) => [p.lon, p.lat]);
    coords.push([pos.lon, pos.lat]);
    lines.push({ type: "Feature", geometry: { type: "LineString", coordinates: coords }, properties: { hex: tr.hex } });
  }
  window.overflight.replayPositions = where;
  window.overflight.replayPosition = single ? where[rp.hex] : null;
  if (map && window.overflight.mapReady) {
    map.getSource("replay-ac").setData({ type: "FeatureCollection", features: acs });
    map.getSource("replay-track").setData({ type: "FeatureCollection", features: lines });
  }
  const when = `${new Date(t).toISOString().slice(0, 19).replace("T", " ")} UTC`;
  if (single && shown) setText($("r-time"), when + (shown.alt !== null ? ` · ${fmt(shown.alt)} ft` : "") + (shown.src && shown.src !== "adsb" ? ` · ${shown.src}` : ""));
  else setText($("r-time"), `${when} · ${acs.length} of ${rp.tracks.length} aircraft in the air`);
}

/** Move the slider to ``t`` (ms, clamped to the loaded span) and show that instant. */
function replaySeek(t) {
  const rp = state.replay;
  if (!rp || !rp.tracks.length) return;
  const s = $("r-slider");
  s.value = String(Math.min(rp.t1, Math.max(rp.t0, t)));
  replayAt(Number(s.value));
}

const PLAY_MS = 10000; // Play runs the whole window in about this many milliseconds

function playReplay() {
  const rp = state.replay;
  if (!rp || !rp.tracks.length) return;
  rp.playing = !rp.playing;
  setText($("r-play"), rp.playing ? "Pause" : "Play");
  const t0 = rp.t0;
  const t1 = rp.t1;
  if (rp.playing && rp.t >= t1) rp.t = t0;
  let last = performance.now();
  const tick = (now) => {
    if (!rp.playing || state.replay !== rp) return;
    // advance by the time elapsed, whatever the frame rate
    let t = rp.t + ((now - last) / PLAY_MS) * Math.max(t1 - t0, 1000);
    last = now;
    if (t >= t1) { t = t1; rp.playing = false; setText($("r-play"), "Play"); }
    $("r-slider").value = String(t);
    replayAt(t);
    if (rp.playing) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

// ------------------------------------------------------------------ airport board and alerts
async function loadAirport(ev) {
  ev.preventDefault();
  const code = $("airport-code").value.trim().toUpperCase();
  const box = $("airport-board");
  clear(box);
  if (!/^[A-Z0-9]{3,4}$/.test(code)) { setText(box, "Give an ICAO airport code (e.g. LFBO)."); return; }
  const date = $("airport-date").value || new Date(state.nowMs || Date.now()).toISOString().slice(0, 10);
  setText(box, "loading…");
  let r;
  try { r = await fetchJson(`api/history/airport/${encodeURIComponent(code)}?date=${encodeURIComponent(date)}`); } catch { r = { ok: false, status: 0, body: null }; }
  clear(box);
  if (!r.ok) {
    const why = r.body && typeof r.body === "object" && !Array.isArray(r.body) ? str(r.body.detail ?? r.body.error ?? r.body.msg) : "";
    setText(box, r.status === 404 && !why ? "airport boards are not available on this server" : `no board: ${why || "HTTP " + (r.status || "error")}`);
    return;
  }
  for (const [name, key, other, otherName, timeKey] of [["Departures", "departures", "arrival_airport", "To", "departure_time"], ["Arrivals", "arrivals", "departure_airport", "From", "arrival_time"]]) {
    const rows = listOf(r.body && r.body[key], []);
    const t = el("table", { class: "board-table" }, el("caption", {}, `${name} (${rows.length})`),
      el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "Callsign"), el("th", {}, "Reg"), el("th", {}, "Type"), el("th", {}, otherName))));
    const tb = el("tbody");
    for (const f of rows) {
      const tr = el("tr", {},
        el("td", {}, shortTime(f[timeKey] ?? f[`${timeKey}_s`]).slice(11)),
        el("td", {}, Array.isArray(f.callsigns) ? f.callsigns.map(str).join(" ") : str(f.callsign)),
        el("td", {}, str(f.registration)),
        el("td", {}, str(f.typecode)),
        el("td", { title: str(f[`${other}_name`]) }, str(f[other]) || "?"));
      const hex = str(f.icao24).toLowerCase();
      if (/^~?[0-9a-f]{6}$/.test(hex)) { tr.style.cursor = "pointer"; tr.addEventListener("click", () => { select(hex, true); openReplay(hex); }); }
      tb.appendChild(tr);
    }
    t.appendChild(tb);
    box.appendChild(t);
  }
}

async function loadAlerts() {
  const box = $("alerts-list");
  const r = await getJson("api/alerts");
  if (!r.ok) {
    state.history.alerts = false;
    clear(box);
    setText(box, r.status === 404 ? "alerts are not available on this server" : `alerts unavailable (${r.status || "network"})`);
    return;
  }
  state.history.alerts = true;
  const rows = listOf(r.body, ["alerts", "events", "data"])
    .map((a, i) => ({ a, i, t: toMs(a.time_s ?? a.time ?? a.at) }))
    .sort((x, y) => (y.t ?? -Infinity) - (x.t ?? -Infinity) || x.i - y.i) // newest first
    .slice(0, 20);
  clear(box);
  if (!rows.length) { setText(box, "no recent alerts"); return; }
  for (const { a, t } of rows) {
    const hex = str(a.icao24 ?? a.hex ?? a.address).toLowerCase();
    const detail = str(a.detail);
    const text = str(a.message ?? a.text ?? a.summary ?? a.title) || [str(a.rule ?? a.kind ?? a.event), detail].filter(Boolean).join(": ");
    const item = el("div", { class: "alert-item", "data-hex": hex, "data-flight-id": str(a.flight_id) || null },
      el("span", { class: "mono" }, t === null ? "" : shortTime(t).slice(11)), " ",
      el("strong", {}, hex.toUpperCase()), " ", text);
    if (/^~?[0-9a-f]{6}$/.test(hex)) {
      item.style.cursor = "pointer";
      item.title = "Show the aircraft and its flight";
      item.addEventListener("click", () => openAlert(hex, t, str(a.flight_id)));
    }
    box.appendChild(item);
  }
}

/** An alert clicked: the aircraft's panel, then its flight (``flight_id`` when the alert has
 * one, else the flight whose span holds the alert's time, from the flights endpoint) marked in
 * the panel and replayed with the slider at the alert's time. */
async function openAlert(hex, t, flightId) {
  select(hex, true);
  const token = {};
  state.alertOpen = token;
  window.overflight.alertFlight = null;
  const day = 24 * 3600 * 1000;
  const q = t === null ? "" : `?from=${encodeURIComponent(new Date(t - day).toISOString())}&to=${encodeURIComponent(new Date(t + day).toISOString())}`;
  const r = await getJson(`api/history/flights/${encodeURIComponent(hex)}${q}`);
  if (state.alertOpen !== token) return;
  if (!r.ok) return; // no history here: the panel is all there is
  const flights = listOf(r.body, ["flights", "data", "rows"]);
  let f = flightId ? flights.find((x) => str(x.flight_id) === flightId) : undefined;
  if (!f && t !== null) f = flightAt(flights, t);
  if (!f) return;
  const first = toMs(f.first_seen ?? f.first_seen_s ?? f.departure_time);
  const last = toMs(f.last_seen ?? f.last_seen_s ?? f.arrival_time);
  if (first === null || last === null) return;
  state.focusFlight = str(f.flight_id);
  window.overflight.alertFlight = state.focusFlight;
  markFocusFlight();
  openReplay(hex);
  setText($("r-who"), `${$("r-who").textContent} · flight ${str(f.departure_airport) || "?"} → ${str(f.arrival_airport) || "?"}`);
  $("r-from").value = isoInput(first - 1000);
  $("r-to").value = isoInput(last + 1000);
  await loadReplay();
  if (state.alertOpen === token && t !== null) replaySeek(t);
}

/** The flight whose span holds ``t`` (ms), else the nearest within an hour. */
function flightAt(flights, t) {
  let best = null;
  let bestGap = 3600 * 1000;
  for (const f of flights) {
    const a = toMs(f.first_seen ?? f.first_seen_s ?? f.departure_time);
    const b = toMs(f.last_seen ?? f.last_seen_s ?? f.arrival_time);
    if (a === null || b === null) continue;
    const gap = t < a ? a - t : t > b ? t - b : 0;
    if (gap <= bestGap) { best = f; bestGap = gap; }
  }
  return best;
}

function markFocusFlight() {
  for (const tr of document.querySelectorAll("#p-flights tr[data-flight-id]")) {
    tr.classList.toggle("focus", !!state.focusFlight && tr.dataset.flightId === state.focusFlight);
  }
}

// ------------------------------------------------------------------ legend
function renderLegend() {
  const lg = $("legend");
  clear(lg);
  for (const [label, alt] of [["ground", "g"], ["2,000 ft", 1], ["10,000", 5], ["20,000", 10], ["30,000", 15], ["40,000+", 20]]) {
    const sw = el("span", { class: "swatch" });
    sw.style.background = bandColor(String(alt));
    lg.appendChild(el("span", { class: "legend-item" }, sw, label));
  }
  lg.appendChild(el("br"));
  for (const [label, color] of [["ADS-B: dark outline", "#111"], ["MLAT: purple outline, dashed trail", "#8a2be2"], ["TIS-B: orange outline", "#d17a00"], [`estimated (no fix for ${STALE_S} s): faded, dashed`, "#999"]]) {
    const sw = el("span", { class: "swatch" });
    sw.style.background = color;
    lg.appendChild(el("span", { class: "legend-item" }, sw, label));
  }
}

// ------------------------------------------------------------------ start
async function main() {
  window.overflight = { state, select, mapReady: false, visible: [], replayAt, replayPosition: null, replayPositions: {}, alertFlight: null, get map() { return map; } };
  const params = new URLSearchParams(location.search);
  const hasParam = (k) => params.has(k) && params.get(k) !== "0" && params.get(k) !== "false";
  if (hasParam("mil")) $("f-mil").checked = true;
  for (const [id, key] of [["f-type", "type"], ["f-callsign", "callsign"], ["f-alt-min", "altMin"], ["f-alt-max", "altMax"]]) {
    if (params.has(key)) $(id).value = params.get(key);
  }
  if (params.has("country")) { const c = str(params.get("country")).toUpperCase(); $("f-country").appendChild(el("option", { value: c }, c)); $("f-country").value = c; }

  try {
    const ranges = await (await fetch("ranges.json")).json();
    COUNTRIES = ranges.countries || [];
    MILITARY = ranges.military || [];
  } catch { /* no country names or flags: the map still works */ }

  let center = [0, 30];
  let zoom = 1.5;
  try {
    const rx = (await fetchJson("data/receiver.json")).body;
    if (rx && typeof rx.lat === "number" && typeof rx.lon === "number") { center = [rx.lon, rx.lat]; zoom = 6; }
  } catch { /* keep the world view */ }
  const lat = Number(params.get("lat"));
  const lon = Number(params.get("lon"));
  if (params.has("lat") && params.has("lon") && Number.isFinite(lat) && Number.isFinite(lon)) {
    center = [lon, lat];
    zoom = Number(params.get("zoom")) || 7;
    window.overflight.fixedView = true;
  }
  initMap(center, zoom);
  renderLegend();

  for (const id of ["f-mil", "f-country", "f-type", "f-alt-min", "f-alt-max", "f-callsign"]) {
    $(id).addEventListener("input", readFilters);
    $(id).addEventListener("change", readFilters);
  }
  $("f-clear").addEventListener("click", () => {
    $("f-mil").checked = false;
    for (const id of ["f-country", "f-type", "f-alt-min", "f-alt-max", "f-callsign"]) $(id).value = "";
    readFilters();
  });
  $("search").addEventListener("input", () => { state.search = $("search").value.trim(); changed(); });
  $("search").addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    const v = visibleAircraft();
    if (v.length) select(v[0].hex, true);
  });
  $("p-close").addEventListener("click", () => select(null, false));
  $("p-follow").addEventListener("click", () => select(state.selected, true));
  $("p-replay").addEventListener("click", () => { if (state.selected) openReplay(state.selected); });
  $("r-load").addEventListener("click", loadReplay);
  $("r-play").addEventListener("click", playReplay);
  $("r-close").addEventListener("click", closeReplay);
  $("r-area-view").addEventListener("click", areaFromView);
  $("area-replay").addEventListener("click", openAreaReplay);
  $("r-slider").addEventListener("input", () => replayAt(Number($("r-slider").value)));
  $("airport-form").addEventListener("submit", loadAirport);
  readFilters();

  await poll();
  // tar1090-style selection: ?icao=hex (also a comma list: the first is selected), ?reg=registration
  const icao = str(params.get("icao")).split(",")[0].trim().toLowerCase();
  const reg = str(params.get("reg")).trim().toUpperCase();
  if (/^~?[0-9a-f]{6}$/.test(icao)) select(icao, true);
  else if (reg) {
    const e = [...state.aircraft.values()].find((x) => str(x.rec.r).toUpperCase() === reg);
    if (e) select(e.hex, true); else { state.search = reg; $("search").value = reg; changed(); }
  }
  connect();
  loadAlerts();
  setInterval(loadAlerts, 30000);
  setInterval(changed, 1000); // ages in the panel and stale positions move on between messages
}

main();
