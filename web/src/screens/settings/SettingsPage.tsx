export default function SettingsPage() {
  return <div className="p-6">SettingsPage</div>;
}
