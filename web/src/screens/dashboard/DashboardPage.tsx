export default function DashboardPage() {
  return <div className="p-6">DashboardPage</div>;
}
