stories.txt"mntp*
 @Hˆ