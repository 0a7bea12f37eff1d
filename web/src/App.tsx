// Routes: sign-in outside the shell, every other screen inside it and only when signed in.
// The heavier screens (the canvas, the charts) load on first visit.
import { lazy, Suspense, type ReactNode } from "react";
import { Link, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { useAuth } from "./auth/AuthContext";
import { AcceptInvitationPage } from "./auth/AcceptInvitation";
import { SignInPage } from "./auth/SignIn";
import { EmptyState, Spinner } from "./components/ui";
import { Shell } from "./layout/Shell";

const DashboardPage = lazy(() => import("./screens/dashboard/DashboardPage"));
const WorkflowsPage = lazy(() => import("./screens/workflows/WorkflowsPage"));
const StudioPage = lazy(() => import("./screens/studio/StudioPage"));
const ExecutionsPage = lazy(() => import("./screens/executions/ExecutionsPage"));
const ExecutionPage = lazy(() => import("./screens/executions/ExecutionPage"));
const TemplatesPage = lazy(() => import("./screens/templates/TemplatesPage"));
const SettingsPage = lazy(() => import("./screens/settings/SettingsPage"));

function RequireAuth({ children }: { children: ReactNode }) {
  const auth = useAuth();
  const location = useLocation();
  if (!auth.signedIn) return <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

function NotFound() {
  return (
    <div className="p-6">
      <EmptyState title="There is no page here" action={<Link className="text-blue-700 hover:underline" to="/">Go to the dashboard</Link>}>
        The address may be mistyped, or what it pointed to was deleted.
      </EmptyState>
    </div>
  );
}

export function App() {
  return (
    <Suspense fallback={<div className="p-6"><Spinner /></div>}>
      <Routes>
        <Route path="/signin" element={<SignInPage />} />
        <Route path="/invite/:token" element={<AcceptInvitationPage />} />
        <Route
          element={
            <RequireAuth>
              <Shell />
            </RequireAuth>
          }
        >
          <Route index element={<DashboardPage />} />
          <Route path="workflows" element={<WorkflowsPage />} />
          <Route path="workflows/:id" element={<StudioPage />} />
          <Route path="executions" element={<ExecutionsPage />} />
          <Route path="executions/:id" element={<ExecutionPage />} />
          <Route path="templates" element={<TemplatesPage />} />
          <Route path="settings/*" element={<SettingsPage />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </Suspense>
  );
}
