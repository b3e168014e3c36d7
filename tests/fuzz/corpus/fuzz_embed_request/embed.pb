

helloRepresent: 

helloRepresent:  *adapter08req-1