// React Flow measures with ResizeObserver and DOMMatrixReadOnly, which jsdom lacks. Call in a
// beforeAll of a test that renders a real React Flow canvas.
import { vi } from "vitest";

export function stubReactFlowDom() {
  vi.stubGlobal(
    "ResizeObserver",
    class {
      observe() {}
      unobserve() {}
      disconnect() {}
    },
  );
  vi.stubGlobal(
    "DOMMatrixReadOnly",
    class {
      m22 = 1;
    },
  );
}
