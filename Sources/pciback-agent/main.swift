import Dom0KitCLI

await Dom0KitMain.run(.pcibackAgent, Array(CommandLine.arguments.dropFirst()))
