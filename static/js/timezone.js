// SupportCircle time zone: the browser's own zone, guessed on sign-up and suggested on the profile when
// none was chosen, and a search box that narrows the profile's list of places. No inline handlers.
(function () {
  "use strict";

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }

  // Sign-up: a hidden field the server checks against the places it offers (anything else is UTC).
  document.querySelectorAll("input[data-guess-timezone]").forEach(function (input) {
    if (!input.value) input.value = browserZone();
  });

  var select = document.querySelector("select[data-timezone-select]");
  if (!select) return;

  var links = {};
  try { links = JSON.parse(select.dataset.links || "{}"); } catch (e) { links = {}; }
  var options = Array.prototype.slice.call(select.options);
  function offered(name) {
    return options.some(function (option) { return option.value === name; });
  }
  function labelOf(name) {
    var found = options.filter(function (option) { return option.value === name; })[0];
    return found ? found.textContent : name;
  }

  // Never chosen: suggest where the browser is (an older name, "Asia/Calcutta", as today's).
  var guessed = browserZone();
  if (!offered(guessed) && links[guessed]) guessed = links[guessed];
  var note = document.getElementById("timezone-guess");
  if (select.dataset.unset === "true" && guessed && offered(guessed) && guessed !== select.value) {
    select.value = guessed;
    if (note) {
      note.textContent = "We've suggested " + labelOf(guessed) + " (" + guessed + "), where your browser says you are. " +
        "Save to keep it, or choose another.";
      note.hidden = false;
    }
  }

  // Search: narrow the list to places whose name (or region) has the words typed.
  var search = document.createElement("input");
  search.type = "search";
  search.id = select.id + "_search";
  search.autocomplete = "off";
  search.placeholder = "A city or region, e.g. Berlin";
  search.setAttribute("aria-controls", select.id);
  var label = document.createElement("label");
  label.htmlFor = search.id;
  label.textContent = "Find your time zone";
  var count = document.createElement("small");
  count.className = "help";
  count.id = search.id + "_count";
  count.setAttribute("role", "status");
  search.setAttribute("aria-describedby", count.id);
  var selectLabel = document.querySelector('label[for="' + select.id + '"]');
  (selectLabel || select).before(label, search, count);

  function normal(text) { return text.toLowerCase().replace(/_/g, " "); }
  function narrow() {
    var words = normal(search.value.trim());
    var first = null;
    var shown = {};
    options.forEach(function (option) {
      var group = option.parentNode.tagName === "OPTGROUP" ? option.parentNode.label : "";
      var match = !words || normal(option.textContent + " " + option.value + " " + group).indexOf(words) >= 0;
      option.hidden = !match;
      if (match) {
        shown[option.value] = true;
        if (!first) first = option;
      }
    });
    select.querySelectorAll("optgroup").forEach(function (group) {
      group.hidden = !Array.prototype.some.call(group.children, function (option) { return !option.hidden; });
    });
    var places = Object.keys(shown).length;
    if (!words) { count.textContent = ""; return; }
    if (first && select.selectedOptions[0] && select.selectedOptions[0].hidden) select.value = first.value;
    count.textContent = places === 0 ? "No place matches “" + search.value.trim() + "”. Try a nearby city."
      : places === 1 ? "1 place matches: " + first.textContent + " is chosen."
      : places + " places match; " + labelOf(select.value) + " is chosen.";
  }
  search.addEventListener("input", narrow);
  // Enter in the search box chooses, it doesn't send the form half-done.
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); select.focus(); }
  });
})();
