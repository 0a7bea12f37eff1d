export default function ExecutionPage() {
  return <div className="p-6">ExecutionPage</div>;
}
