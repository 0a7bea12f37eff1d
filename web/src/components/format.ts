// Number formats shared by the screens (times and durations are in ui.tsx).

/** US dollars with cents ("$1,234.50"); amounts under a dollar keep up to 4 decimals ("$0.0012"). */
export function formatUsd(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  return n.toLocaleString("en-US", {
    style: "currency",
    currency: "USD",
    minimumFractionDigits: 2,
    maximumFractionDigits: n < 1 && n > 0 ? 4 : 2,
  });
}
