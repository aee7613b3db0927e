// The add-position form: names the currency the cost basis is in as soon as the symbol is
// one we know, and says that a new symbol is being checked while the page waits.
"use strict";

(() => {
  const form = document.getElementById("position-form");
  const symbol = document.getElementById("id_symbol");
  const note = document.getElementById("cost-currency");
  if (!form || !symbol || !note) return;
  const currencies = JSON.parse(document.getElementById("symbol-currencies").textContent);

  function currencyNote() {
    const typed = symbol.value.trim().toUpperCase();
    const currency = currencies[typed];
    note.textContent = currency
      ? `${typed} trades in ${currency}: enter the cost basis in ${currency}.`
      : typed
        ? `A new symbol is checked with the price sources when you add it; the cost basis is in its own currency.`
        : "";
  }

  symbol.addEventListener("input", currencyNote);
  currencyNote();
  // Back from the next page (the browser's page cache): the form is usable again.
  window.addEventListener("pageshow", () => {
    form.querySelector('button[type="submit"]').disabled = false;
    document.getElementById("lookup-wait").hidden = true;
  });
  form.addEventListener("submit", () => {
    const typed = symbol.value.trim().toUpperCase();
    if (typed && !currencies[typed]) document.getElementById("lookup-wait").hidden = false;
    form.querySelector('button[type="submit"]').disabled = true;
  });
})();
