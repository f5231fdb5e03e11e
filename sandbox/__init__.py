"""Local stand-ins for Spacelift (GraphQL) and, later, Port — for tests, benchmarks and the demo."""
