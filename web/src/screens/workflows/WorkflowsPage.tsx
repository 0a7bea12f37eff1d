export default function WorkflowsPage() {
  return <div className="p-6">WorkflowsPage</div>;
}
