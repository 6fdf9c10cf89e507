// Building the page without innerHTML: every piece of server data reaches the DOM as a text
// node or an attribute value, never as markup. The page runs under a strict
// Content-Security-Policy (no inline scripts or style attributes): styles come from
// style.css, and the few computed sizes (bar widths) are set through element.style.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(parent, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
    return;
  }
  if (child instanceof Node) {
    parent.appendChild(child);
    return;
  }
  parent.appendChild(document.createTextNode(String(child)));
}

function apply(el, attrs) {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (key === 'testid') {
      el.setAttribute('data-testid', value);
    } else if (key === 'data') {
      for (const [k, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) el.dataset[k] = String(v);
      }
    } else if (key === 'on') {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (key === 'props') {
      Object.assign(el, value);
    } else if (key === 'size') {
      // Computed geometry only, through the CSSOM (allowed by the CSP, unlike style="").
      for (const [k, v] of Object.entries(value)) el.style[k] = v;
    } else if (key === 'style' || key.startsWith('on')) {
      throw new Error(`dom: attribute ${key} is not allowed`);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

// h('a', {href: '#/x', class: 'link', testid: 'nav-x'}, 'text', child, [more]) → Element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

// The same for SVG elements.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

// Replaces every child of `el`.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A <select> with options [{value, label}], the given one selected.
export function select(attrs, options, selected) {
  const el = h('select', attrs);
  for (const o of options) {
    const opt = h('option', { value: o.value }, o.label);
    if (String(o.value) === String(selected ?? '')) opt.selected = true;
    el.appendChild(opt);
  }
  return el;
}
