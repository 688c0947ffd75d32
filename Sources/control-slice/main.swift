import Dom0KitCLI

await Dom0KitMain.run(.controlSlice, Array(CommandLine.arguments.dropFirst()))
