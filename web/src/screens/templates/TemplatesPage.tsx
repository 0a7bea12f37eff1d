export default function TemplatesPage() {
  return <div className="p-6">TemplatesPage</div>;
}
