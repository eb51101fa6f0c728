// Why: the cluster cards and the replication picture redraw every second, one element
// per PC; rebuilding those each time would flicker and restart CSS animations. They are
// rebuilt only when the PCs change, and updated in place otherwise.

/**
 * Gives `box` one `<tag class=className data-node=name>` per name, made from the fixed
 * `html` template with the name written into its `.nameClass` element, unless it
 * already holds them for the same names in the same order.
 * @param {HTMLElement} box
 * @param {string[]} names
 * @param {{tag: string, className: string, html: string, nameClass: string}} shape
 */
export function perNode(box, names, { tag, className, html, nameClass }) {
  const keys = names.join("\n");
  if (box.dataset.keys === keys) return;
  box.dataset.keys = keys;
  box.replaceChildren(
    ...names.map((name) => {
      const made = document.createElement(tag);
      made.className = className;
      made.dataset.node = name;
      made.innerHTML = html;
      made.querySelector(`.${nameClass}`).textContent = name;
      return made;
    }),
  );
}
