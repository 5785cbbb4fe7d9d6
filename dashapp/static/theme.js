// Apply the theme the user chose in the app (kept in localStorage by dcc.Store) before first paint.
(function () {
  try {
    var stored = JSON.parse(window.localStorage.getItem("shell-theme-store"));
    if (stored === "dark" || stored === "light") {
      document.documentElement.setAttribute("data-bs-theme", stored);
    }
  } catch (e) { /* no stored theme */ }
})();
