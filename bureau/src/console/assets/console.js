// The console's one script. Pages work without it: it only turns a click on
// the map into the new-task form's coordinates and asks before irreversible
// buttons. No framework, nothing loaded from elsewhere.
"use strict";

// A click on a map fills the task form's lat/lon (in the map's datum) and marks the spot.
function pickOnMap(svg) {
  svg.addEventListener("click", (event) => {
    const lat = document.querySelector('[data-pick="lat"]');
    const lon = document.querySelector('[data-pick="lon"]');
    if (!lat || !lon || event.target.closest("a")) return;
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const local = point.matrixTransform(svg.getScreenCTM().inverse());
    const size = 256 * Math.pow(2, Number(svg.dataset.zoom));
    const x = (local.x + Number(svg.dataset.originX)) / size;
    const y = (local.y + Number(svg.dataset.originY)) / size;
    const longitude = x * 360 - 180;
    const latitude = (Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180) / Math.PI;
    lat.value = latitude.toFixed(6);
    lon.value = longitude.toFixed(6);
    const datum = document.querySelector('[data-pick="datum"]');
    if (datum) datum.value = svg.dataset.datum;
    let mark = svg.querySelector("circle.picked");
    if (!mark) {
      mark = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      mark.setAttribute("class", "picked");
      mark.setAttribute("r", "9");
      svg.appendChild(mark);
    }
    mark.setAttribute("cx", local.x);
    mark.setAttribute("cy", local.y);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("svg.map").forEach(pickOnMap);
  document.querySelectorAll("[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
});
