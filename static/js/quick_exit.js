// Quick exit: leave SupportCircle at once for a neutral page, as abuse-support sites do. The page is
// replaced in this tab's history (location.replace), so Back does not come back to the chat.
// Any element with data-quick-exit (a link whose href is the neutral page) works, by mouse, touch or
// keyboard; so does the card's Quick exit button (moderation.js calls SupportCircleQuickExit).
(function () {
  "use strict";

  function leave(url) {
    try { sessionStorage.clear(); } catch (e) { /* private mode: nothing to clear */ }
    document.body.hidden = true; // nothing of the page stays on screen while the next one loads
    window.location.replace(url);
  }

  window.SupportCircleQuickExit = leave;

  if (window.SupportCircleQuickExitWired) return; // the include may appear twice on a page
  window.SupportCircleQuickExitWired = true;
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-quick-exit]");
    if (!link) return;
    event.preventDefault();
    leave(link.getAttribute("href"));
  });
})();
