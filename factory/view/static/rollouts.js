// Render LaTeX in prompts, reasoning and answers with the vendored KaTeX; raw text stays if it cannot parse.
// Bare \boxed{...} (the usual final answer) gets inline delimiters so it renders too.
const BARE_BOXED = /(^|[^$(])\\boxed\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}/g;
document.querySelectorAll(".tex").forEach((el) => {
  if (typeof renderMathInElement !== "function") return;
  el.textContent = el.textContent.replace(BARE_BOXED, "$1\\(\\boxed{$2}\\)");
  renderMathInElement(el, {
    delimiters: [
      {left: "$$", right: "$$", display: true}, {left: "\\[", right: "\\]", display: true},
      {left: "\\(", right: "\\)", display: false}, {left: "$", right: "$", display: false},
    ],
    throwOnError: false, strict: "ignore",
  });
});
document.querySelectorAll("#filters select").forEach((s) => s.addEventListener("change", () => s.form.submit()));
