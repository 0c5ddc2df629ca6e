/** A full-page message for the app shell (offline, nothing stored for this page). */
export function Message({ title, children }: { title: string; children: preact.ComponentChildren }) {
  return (
    <div class="message">
      <h1>{title}</h1>
      {children}
      <p>
        <a href="/">Back to the library</a>
      </p>
    </div>
  );
}
