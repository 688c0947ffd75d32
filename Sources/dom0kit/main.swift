import Dom0KitCLI

await Dom0KitMain.main()
