// Live events: opens a ticketed WebSocket, hands each JSON frame to the caller and reconnects
// with back-off while the component that asked is mounted (unless the server ended it with
// 1000, which it does after an execution's final state).
import { useEffect, useRef, useState } from "react";
import { socketUrl } from "./client";

export type SocketState = "connecting" | "open" | "closed" | "error";

export function useSocket<T = Record<string, unknown>>(
  path: string | null,
  onMessage: (msg: T) => void,
  { reconnect = true }: { reconnect?: boolean } = {},
): SocketState {
  const [state, setState] = useState<SocketState>("connecting");
  const handler = useRef(onMessage);
  handler.current = onMessage;

  useEffect(() => {
    if (!path) return;
    let ws: WebSocket | null = null;
    let stopped = false;
    let delay = 500;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const open = async () => {
      setState("connecting");
      let url: string;
      try {
        url = await socketUrl(path);
      } catch {
        if (!stopped) retry();
        return;
      }
      if (stopped) return;
      ws = new WebSocket(url);
      ws.onopen = () => {
        delay = 500;
        setState("open");
      };
      ws.onmessage = (ev) => {
        try {
          handler.current(JSON.parse(ev.data as string) as T);
        } catch {
          // a frame that is not JSON is not ours to show
        }
      };
      ws.onclose = (ev) => {
        ws = null;
        if (stopped) return;
        if (ev.code === 1000 || !reconnect) setState("closed");
        else retry();
      };
      ws.onerror = () => setState("error");
    };
    const retry = () => {
      setState("error");
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 15_000);
    };
    void open();
    return () => {
      stopped = true;
      clearTimeout(timer);
      ws?.close(1000);
    };
  }, [path, reconnect]);

  return state;
}
