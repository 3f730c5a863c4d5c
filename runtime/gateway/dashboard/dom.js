// Building the page from data without ever parsing data as HTML: every value a swarm holds
// (locations, errors, ids) goes in as text.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v)
    // through the CSSOM: the page's CSP refuses style attributes
    else if (k === "style") for (const d of String(v).split(";")) d.includes(":") && node.style.setProperty(d.slice(0, d.indexOf(":")).trim(), d.slice(d.indexOf(":") + 1).trim())
    else node.setAttribute(k, v === true ? "" : String(v))
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : String(c))
  return node
}

const SVG = "http://www.w3.org/2000/svg"
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v))
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c))
  return node
}

export function table(head, rows, numeric = []) {
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { class: numeric.includes(i) ? "num" : undefined }, h)))),
    el("tbody", {}, rows),
  )
}

export function row(cells, attrs = {}, numeric = []) {
  return el("tr", attrs, cells.map((c, i) => el("td", { class: numeric.includes(i) ? "num" : undefined }, c)))
}

export function fill(panel, ...children) {
  const body = document.querySelector(`#${panel} .body`)
  body.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null))
}

export const fixed = (n, digits = 2) => (typeof n === "number" ? n.toFixed(digits) : "")
export const ago = (iso) => {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`
}
