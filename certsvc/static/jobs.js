// The console's job page: keep the progress bar current without reloading the page.
// Without JavaScript the page reloads itself instead (<noscript><meta http-equiv=refresh>).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.finished === "true") return;
  var url = box.dataset.statusUrl;
  var bar = document.getElementById("job-progress");
  var label = document.getElementById("job-label");
  var state = document.getElementById("job-state");
  var delay = 1000;

  function show(status) {
    bar.value = status.progress.percent;
    bar.textContent = status.progress.percent + "%";
    label.textContent = status.label;
    state.textContent = status.state_name;
    if (status.finished) {
      // The finished page shows the result, the issued batch or the error in full.
      window.location.replace(status.page_url);
      return false;
    }
    return true;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (status) {
        delay = 1000;
        if (show(status)) window.setTimeout(poll, delay);
      })
      .catch(function () {
        // The server may be restarting: try again, less often.
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
