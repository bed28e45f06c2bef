/** A chart's numbers as a table: a caption, two named columns, one row per item, the counts right-aligned. */
import { html } from "htm/preact";

export interface NumbersTableProps {
  caption: string;
  columns: readonly [string, string];
  rows: ReadonlyArray<readonly [string, number]>;
}

export function NumbersTable({ caption, columns, rows }: NumbersTableProps) {
  return html`
    <table class="numbers">
      <caption>
        ${caption}
      </caption>
      <thead>
        <tr>
          <th scope="col">${columns[0]}</th>
          <th scope="col">${columns[1]}</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          ([label, n]) =>
            html`<tr>
              <td>${label}</td>
              <td>${n.toLocaleString("en")}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  `;
}
