export default function ExecutionsPage() {
  return <div className="p-6">ExecutionsPage</div>;
}
