// Placeholder until the GUI lands (ui/).
int main() { return 0; }
